"""End to end: train_baseline --export_dir, export_model from the run, recommend from the export."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.serving.from_run import load_run_config
from tfrankcf.training.run import load_run_split

HISTORY = ["50", "172", "181"]
U_ITEM = Path(__file__).resolve().parents[2] / "testdata" / "serving" / "ml-100k_u.item"


def _binary(name, *args, cwd=None):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-m", f"tfrankcf.binaries.{name}", *args],
                        capture_output=True, text=True, env=env, timeout=300, cwd=cwd)


def _error_line(result) -> str:
  assert result.returncode == 2, result.stderr[-3000:]
  lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(lines) == 1, result.stderr[-3000:]
  return lines[0]


def _serve(directory):
  serve = tf.saved_model.load(str(directory)).signatures["serving_default"]
  out = serve(history=tf.constant([HISTORY, ["1", "", ""]]),
              history_mask=tf.constant([[True] * 3, [True, False, False]]))
  return out["item_ids"].numpy().astype(str), out["scores"].numpy()


@pytest.fixture(scope="module")
def ease_run(tmp_path_factory):
  """An EASE run on ml100k (strong) that exported itself with K = 20."""
  tmp_path = tmp_path_factory.mktemp("ease")
  result = _binary("train_baseline", "--method=ease", "--protocol=strong",
                   "--ease_l2_grid=500", f"--output_dir={tmp_path / 'run'}",
                   f"--data_dir={tmp_path / 'cache'}", f"--export_dir={tmp_path / 'export'}",
                   "--export_top_k=20")
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"saved model: {tmp_path / 'export'}" in result.stdout
  return tmp_path


def test_train_baseline_export_dir_writes_a_loadable_saved_model(ease_run):
  ids, scores = _serve(ease_run / "export")
  assert ids.shape == (2, 20)
  assert not set(HISTORY) & set(ids[0]) and "1" not in ids[1]
  assert np.all(np.diff(scores, axis=1) <= 0)


@pytest.fixture(scope="module")
def exported(ease_run):
  """export_model of the run, with the names of an 11-line u.item."""
  result = _binary("export_model", f"--run_dir={ease_run / 'run'}",
                   f"--export_dir={ease_run / 'exported'}", f"--item_names={U_ITEM}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"item names: 11 (u.item) from {U_ITEM}" in result.stdout
  return ease_run / "exported"


def test_export_model_from_the_run_dir_equals_the_training_export(ease_run, exported):
  expected_ids, expected_scores = _serve(ease_run / "export")
  ids, scores = _serve(exported)
  np.testing.assert_array_equal(ids, expected_ids)
  np.testing.assert_allclose(scores, expected_scores, rtol=1e-6, atol=1e-7)


def test_recommend_shows_names_and_the_most_popular_items_for_unknown_ids(exported):
  names = {"50": "Star Wars (1977)", "100": "Fargo (1996)", "181": "Return of the Jedi (1983)",
           "258": "Contact (1997)", "1": "Toy Story (1995)"}
  result = _binary("recommend", f"--saved_model={exported}", "--history=unknown-id", "--k=10")
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert lines[0] == ("(no user id)  history: 1 items, 1 unknown and ignored; no known item: "
                      "the most popular training items, scored by their training users")
  assert lines[1].split() == ["rank", "item_id", "score", "name"]
  rows = [line.split(maxsplit=3) for line in lines[2:]]
  serve = tf.saved_model.load(str(exported)).signatures["serving_default"]
  out = serve(history=tf.constant([[""]]), history_mask=tf.constant([[False]]))
  assert bool(out["fallback"].numpy()[0])
  assert [row[1] for row in rows] == list(out["item_ids"].numpy().astype(str)[0][:10])
  # The most popular items of the run's training users, each scored by their number.
  split = load_run_split(load_run_config(str(exported.parent / "run")))
  counts = np.asarray(split.train.sum(axis=0)).ravel()
  top = np.argsort(-counts, kind="stable")[:10]
  item_ids = np.asarray(split.item_ids).astype(str)
  assert [(row[1], float(row[2])) for row in rows] == list(zip(item_ids[top], counts[top]))
  assert rows[0][1] == "50" and rows[0][3] == "Star Wars (1977)"
  for row in rows:
    assert row[3:] == ([names[row[1]]] if row[1] in names else [])


def test_recommend_prints_a_table_for_one_user(ease_run):
  result = _binary("recommend", f"--saved_model={ease_run / 'export'}",
                   f"--history={','.join(HISTORY)},unknown-id", "--k=5")
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert lines[0] == "(no user id)  history: 4 items, 1 unknown and ignored"
  ranked = [line.split() for line in lines[2:]]
  assert [row[0] for row in ranked] == ["1", "2", "3", "4", "5"]
  expected_ids, _ = _serve(ease_run / "export")
  assert [row[1] for row in ranked] == list(expected_ids[0][:5])


def test_recommend_writes_a_file_of_users(ease_run, tmp_path):
  (tmp_path / "users.tsv").write_text(f"alice\t{','.join(HISTORY)}\n1\n")
  result = _binary("recommend", f"--saved_model={ease_run / 'export'}", "--input=users.tsv",
                   "--output=recs.tsv", "--k=3", cwd=str(tmp_path))
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split("\t") for line in (tmp_path / "recs.tsv").read_text().splitlines()]
  assert rows[0] == ["line", "user", "rank", "item_id", "score", "name"]
  expected_ids, _ = _serve(ease_run / "export")
  assert [row[:4] for row in rows[1:4]] == [
      ["1", "alice", str(rank), item] for rank, item in enumerate(expected_ids[0][:3], 1)]
  assert [row[:3] for row in rows[4:]] == [["2", "", "1"], ["2", "", "2"], ["2", "", "3"]]


def test_recommend_bad_input_line_and_missing_model_are_one_line_errors(ease_run, tmp_path):
  (tmp_path / "users.tsv").write_text("alice\t50\nbob\t50\t172\n")
  line = _error_line(_binary("recommend", f"--saved_model={ease_run / 'export'}",
                             f"--input={tmp_path / 'users.tsv'}"))
  assert f"{tmp_path / 'users.tsv'}:2: expected 'user_id<TAB>item,item,...'" in line
  line = _error_line(_binary("recommend", f"--saved_model={tmp_path / 'nowhere'}",
                             "--history=50"))
  assert f"{tmp_path / 'nowhere'}: no saved_model.pb" in line
