"""recommend: request files, an exported model's recommendations, TSV / JSON lines / table."""

import json

import numpy as np
import pytest

from tfrankcf.errors import InputError
from tfrankcf.methods.bpr import build_bpr
from tfrankcf.serving import recommend
from tfrankcf.serving.export import export_model
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import load_run_split


def test_request_lines_with_and_without_a_user(tmp_path):
  path = tmp_path / "users.tsv"
  path.write_text("7\t50, 172,,181\n\n50,172\n3\t\n")
  requests = recommend.read_requests(str(path))
  assert [(r.user, r.history, r.line) for r in requests] == [
      ("7", ["50", "172", "181"], 1), (None, ["50", "172"], 3), ("3", [], 4)]


@pytest.mark.parametrize("content,expected", [
    ("1\t50\n2\t50\t172\n", ":2: expected 'user_id<TAB>item,item,...'"),
    ("\t50,172\n", ":1: empty user id"),
    ("\n\n", ": no requests"),
])
def test_bad_request_files_name_the_file_and_line(tmp_path, content, expected):
  path = tmp_path / "users.tsv"
  path.write_text(content)
  with pytest.raises(InputError) as error:
    recommend.read_requests(str(path))
  assert str(error.value).startswith(f"{path}{expected}")


def test_missing_saved_model_is_a_clear_error(tmp_path):
  with pytest.raises(InputError, match="no saved_model.pb"):
    recommend.Recommender(str(tmp_path))


@pytest.fixture(scope="module")
def bpr_export(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("bpr")
  config = RunConfig(method="bpr", protocol="loo_sampled", data_dir=str(tmp_path / "cache"),
                     params={"embedding_dim": 8})
  split = load_run_split(config)
  model = build_bpr(split, config).model
  return export_model(model, split, str(tmp_path / "bpr"), top_k=6), split


def test_an_id_based_model_recommends_per_user_without_the_history(bpr_export):
  directory, split = bpr_export
  recommender = recommend.Recommender(directory)
  assert recommender.uses_user_id and recommender.num_users == split.num_users
  history = ["50", "172", "nope"]
  requests = [recommend.Request(history, "0"), recommend.Request([], "5")]
  results = recommender.recommend(requests, k=4, batch_size=1)
  assert [len(r.item_ids) for r in results] == [4, 4]
  assert not set(history) & set(results[0].item_ids)
  assert all(np.diff(r.scores).max() <= 0 for r in results)
  default = recommender.recommend(requests)
  assert [len(r.item_ids) for r in default] == [6, 6]
  assert default[1].item_ids[:4] == results[1].item_ids
  assert recommender.unknown_items(requests[0]) == ["nope"]
  table = recommend.table(requests, results, [["nope"], []])
  assert "user 0  history: 3 items, 1 unknown and ignored" in table
  assert results[1].item_ids[3] in table.splitlines()[-1]


@pytest.mark.parametrize("user,expected", [
    (None, "this model scores users by id"),
    ("alice", "user id 'alice' is not an integer"),
    ("100000", "user id 100000 is not a training row index (0..942)"),
])
def test_an_id_based_model_needs_a_known_user(bpr_export, user, expected):
  recommender = recommend.Recommender(bpr_export[0])
  with pytest.raises(InputError) as error:
    recommender.recommend([recommend.Request(["50"], user, line=4)], path="users.tsv")
  assert str(error.value).startswith(f"users.tsv:4: {expected}")


def test_tsv_and_json_lines_outputs(bpr_export, tmp_path):
  recommender = recommend.Recommender(bpr_export[0])
  requests = [recommend.Request(["50"], "2", line=1), recommend.Request([], "3", line=2)]
  results = recommender.recommend(requests, k=3)
  recommend.write_tsv(str(tmp_path / "out.tsv"), requests, results)
  rows = (tmp_path / "out.tsv").read_text().splitlines()
  assert rows[0] == "line\tuser\trank\titem_id\tscore"
  assert len(rows) == 7 and rows[4].split("\t")[:4] == ["2", "3", "1", results[1].item_ids[0]]
  recommend.write_jsonl(str(tmp_path / "out.jsonl"), requests, results)
  lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
  assert lines[1]["user"] == "3" and lines[1]["item_ids"] == results[1].item_ids
  np.testing.assert_allclose(lines[0]["scores"], results[0].scores)
