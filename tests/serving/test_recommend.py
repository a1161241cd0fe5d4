"""recommend: request files, an exported model's recommendations, TSV / JSON lines / table."""

import json

import numpy as np
import pytest

from tfrankcf.baselines import EASE
from tfrankcf.errors import InputError
from tfrankcf.methods.bpr import build_bpr
from tfrankcf.serving import recommend
from tfrankcf.serving.export import export_model
from tfrankcf.serving.item_names import ItemNames, read_item_names
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
                     method_config={"embedding_dim": 8})
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
  assert [r.fallback for r in results] == [False, False]  # scored by the user, not the history
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
  assert rows[0] == "line\tuser\trank\titem_id\tscore\tname"
  assert len(rows) == 7 and rows[4].split("\t")[:4] == ["2", "3", "1", results[1].item_ids[0]]
  recommend.write_jsonl(str(tmp_path / "out.jsonl"), requests, results)
  lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
  assert lines[1]["user"] == "3" and lines[1]["item_ids"] == results[1].item_ids
  np.testing.assert_allclose(lines[0]["scores"], results[0].scores, atol=1e-9)


@pytest.fixture(scope="module")
def named_export(tiny, tmp_path_factory):
  """EASE on the tiny split, exported with the names of item_names.tsv and K = 3."""
  names = read_item_names(str(tiny.testdata / "item_names.tsv"))
  directory = export_model(EASE(1.0).fit(tiny.split.train), tiny.split,
                           str(tmp_path_factory.mktemp("named") / "ease"), top_k=3,
                           item_names=names)
  return directory, names


def test_names_beside_ids_and_the_popular_fallback(tiny, named_export, tmp_path):
  directory, names = named_export
  recommender = recommend.Recommender(directory)
  requests = [recommend.Request([], "empty"), recommend.Request(["x", "y"], "unknown"),
              recommend.Request(["2"], "known")]
  results = recommender.recommend(requests)
  assert [r.fallback for r in results] == [True, True, False]
  for result in results[:2]:
    assert result.item_ids == tiny.popular[:3] and result.scores == tiny.popularity[:3]
  for result in results:
    assert result.names == [names.names[item] for item in result.item_ids]
  table = recommend.table(requests, results, [recommender.unknown_items(r) for r in requests])
  blocks = table.split("\n\n")
  assert blocks[1].splitlines()[0] == (
      "user unknown  history: 2 items, 2 unknown and ignored; " + recommend.FALLBACK_NOTE)
  assert blocks[0].splitlines()[1].split() == ["rank", "item_id", "score", "name"]
  assert blocks[0].splitlines()[2].split() == ["1", "4", "4", "Get", "Shorty"]
  assert "most popular" not in blocks[2]
  recommend.write_tsv(str(tmp_path / "out.tsv"), requests, results)
  rows = [row.split("\t") for row in (tmp_path / "out.tsv").read_text().splitlines()]
  assert rows[1] == ["", "empty", "1", "4", "4", "Get Shorty"]
  recommend.write_jsonl(str(tmp_path / "out.jsonl"), requests, results)
  lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
  assert [line["fallback"] for line in lines] == [True, True, False]
  assert lines[0]["names"][:2] == ["Get Shorty", "GoldenEye"]


def test_a_names_file_replaces_the_export_s_names(tiny, named_export):
  u_item = read_item_names(str(tiny.testdata / "ml-100k_u.item"))
  recommender = recommend.Recommender(named_export[0], item_names=u_item)
  result = recommender.recommend([recommend.Request([])], k=2)[0]
  assert result.names == ["Get Shorty (1995)", "GoldenEye (1995)"]
  with pytest.raises(InputError, match="^other.tsv: none of its 1 ids is an item of the model"):
    recommend.Recommender(named_export[0], item_names=ItemNames({"99": "x"}, path="other.tsv"))
