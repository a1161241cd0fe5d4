"""SavedModel export: a fresh TensorFlow-only process gets the in-memory model's top K."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.baselines import EASE, ItemPop
from tfrankcf.errors import InputError
from tfrankcf.serving.export import export_model
from tfrankcf.serving.item_names import ItemNames, read_item_names
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import load_run_split

K = 10
BATCH = 6
UNKNOWN = "no-such-item"

# Runs in a fresh interpreter: TensorFlow only, every signature of every export.
_RELOAD = r"""
import json, sys
import tensorflow as tf
requests = json.load(open(sys.argv[1]))
out = {}
for name, request in requests.items():
  loaded = tf.saved_model.load(request["dir"])
  inputs = {"history": tf.constant(request["history"]),
            "history_mask": tf.constant(request["history_mask"])}
  if request["user_id"] is not None:
    inputs["user_id"] = tf.constant(request["user_id"], tf.int64)
  default = loaded.signatures["serving_default"](**inputs)
  top_k = loaded.signatures["top_k"](k=tf.constant(3), **inputs)
  out[name] = {"item_ids": default["item_ids"].numpy().astype(str).tolist(),
               "scores": default["scores"].numpy().tolist(),
               "top_3": top_k["item_ids"].numpy().astype(str).tolist()}
  if request["user_id"] is not None:
    try:
      loaded.signatures["serving_default"](**dict(inputs, user_id=tf.constant(
          [10**6] * len(request["user_id"]), tf.int64)))
      out[name]["bad_user"] = "accepted"
    except tf.errors.InvalidArgumentError as error:
      out[name]["bad_user"] = error.message
out["imported_tfrankcf"] = any(name.startswith("tfrankcf") for name in sys.modules)
print(json.dumps(out))
"""


def _config(method, protocol, tmp_path, **settings):
  return RunConfig(method=method, protocol=protocol, data_dir=str(tmp_path / "cache"),
                   method_config=settings)


def _request(split, rows: sp.csr_matrix, user_index):
  """Padded raw-id histories of `rows`, plus an unknown id and a masked-out real id."""
  item_ids = np.asarray(split.item_ids).astype(str)
  histories = [list(item_ids[rows.indices[rows.indptr[r]:rows.indptr[r + 1]]])
               for r in range(rows.shape[0])]
  histories[0] = histories[0] + [UNKNOWN]
  width = max(len(h) for h in histories) + 1
  history = [h + [item_ids[0] if i == 1 else ""] * (width - len(h))
             for i, h in enumerate(histories)]
  mask = [[True] * len(h) + [False] * (width - len(h)) for h in histories]
  return {"history": history, "history_mask": mask,
          "user_id": None if user_index is None else [int(u) for u in user_index]}


def _reference(model, split, rows, user_index):
  """The in-memory scores [B, M] with the history at -inf."""
  index = np.zeros(rows.shape[0], np.int64) if user_index is None else user_index
  if hasattr(model, "predict_scores"):
    dense = rows.toarray().astype(np.float32) if model.uses_history else np.zeros(
        [rows.shape[0], 0], np.float32)
    scores = model.predict_scores(tf.constant(index), tf.constant(dense)).numpy()
  else:
    scores = model.score(index, rows)
  return np.where(rows.toarray() > 0, -np.inf, scores)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  """{name: (request, reference scores, item ids)} of four exported models."""
  tmp_path = tmp_path_factory.mktemp("export")
  strong = load_run_split(_config("vae", "strong", tmp_path))
  loo = load_run_split(_config("bpr", "loo_sampled", tmp_path))
  tf.keras.utils.set_random_seed(0)
  vae_config = _config("vae", "strong", tmp_path)
  vae = vae_config.spec.build(strong, vae_config).model
  bpr_config = _config("bpr", "loo_sampled", tmp_path, embedding_dim=8)
  bpr = bpr_config.spec.build(loo, bpr_config).model
  for variable in bpr.mf.trainable_variables:  # well-separated scores
    variable.assign(tf.random.normal(variable.shape))
  cases = {"vae": (vae, strong, strong.test.inputs[:BATCH], None),
           "bpr": (bpr, loo, loo.train[3:3 + BATCH], np.arange(3, 3 + BATCH)),
           "ease": (EASE(200.0).fit(strong.train), strong, strong.test.inputs[:BATCH], None),
           "itempop": (ItemPop().fit(loo.train), loo, loo.train[:BATCH], None)}
  out = {}
  for name, (model, split, rows, users) in cases.items():
    rows = rows.tocsr()
    directory = export_model(model, split, str(tmp_path / name), top_k=K)
    request = dict(_request(split, rows, users), dir=directory)
    out[name] = (request, _reference(model, split, rows, users),
                 np.asarray(split.item_ids).astype(str))
  return out


@pytest.fixture(scope="module")
def reloaded(exports, tmp_path_factory):
  path = tmp_path_factory.mktemp("reload") / "requests.json"
  path.write_text(json.dumps({name: request for name, (request, _, _) in exports.items()}))
  result = subprocess.run([sys.executable, "-c", _RELOAD, str(path)], capture_output=True,
                          text=True, timeout=300, cwd=str(path.parent),
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_fresh_process_imports_tensorflow_only(reloaded):
  assert reloaded["imported_tfrankcf"] is False


@pytest.mark.parametrize("name", ["vae", "bpr", "ease", "itempop"])
def test_reloaded_top_k_equals_the_in_memory_model(exports, reloaded, name):
  request, reference, item_ids = exports[name]
  column = {item: j for j, item in enumerate(item_ids)}
  got = reloaded[name]
  for b, (ids, scores) in enumerate(zip(got["item_ids"], got["scores"])):
    order = np.argsort(-reference[b], kind="stable")[:K]
    # Same scores, best first, and each returned item scored so in memory: the same top K
    # (up to the order of items whose scores tie within float32 rounding).
    np.testing.assert_allclose(scores, reference[b][order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reference[b][[column[i] for i in ids]], scores,
                               rtol=1e-5, atol=1e-6)
    assert len(set(ids)) == K
    history = {item for item, kept in zip(request["history"][b], request["history_mask"][b])
               if kept}
    assert not history & set(ids)
    if name != "ease":  # the same TF ops: the same order, ties included
      assert ids == list(item_ids[order])
    assert got["top_3"][b] == ids[:3]


def test_an_id_based_export_checks_the_user_id(reloaded):
  assert "user_id must be a training row index" in reloaded["bpr"]["bad_user"]


def test_saved_model_cli_lists_the_signatures(exports):
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  if not os.path.exists(cli):
    pytest.skip("saved_model_cli is not installed beside python")
  result = subprocess.run([cli, "show", "--dir", exports["bpr"][0]["dir"], "--all"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-3000:]
  shown = result.stdout
  for signature, inputs in (("serving_default", ("history", "history_mask", "user_id")),
                            ("top_k", ("history", "history_mask", "user_id", "k"))):
    block = shown.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
    for name in inputs:
      assert f"inputs['{name}']" in block
    for name in ("item_ids", "scores", "item_names", "fallback"):
      assert f"outputs['{name}']" in block
  assert "dtype: DT_STRING" in shown and "shape: (-1, 10)" in shown


def test_history_covering_the_catalogue_returns_padding(tmp_path):
  split = load_run_split(_config("itempop", "strong", tmp_path))
  model = ItemPop().fit(split.train)
  loaded = tf.saved_model.load(export_model(model, split, str(tmp_path / "pop"), top_k=5))
  every = np.asarray(split.item_ids).astype(str)
  out = loaded.signatures["serving_default"](
      history=tf.constant([every[2:], every[:-2]]),
      history_mask=tf.ones([2, len(every) - 2], tf.bool))
  ids = out["item_ids"].numpy().astype(str).tolist()
  for row, left in enumerate(([0, 1], [len(every) - 2, len(every) - 1])):
    expected = sorted(left, key=lambda j: (-model.popularity[j], j))
    assert ids[row] == list(every[expected]) + ["", "", ""]
  assert np.all(np.isneginf(out["scores"].numpy()[:, 2:]))


def test_export_replaces_a_saved_model_but_not_other_directories(tmp_path):
  split = load_run_split(_config("itempop", "strong", tmp_path))
  model = ItemPop().fit(split.train)
  target = tmp_path / "models" / "pop"
  export_model(model, split, str(target), top_k=3)
  export_model(model, split, str(target), top_k=4)
  loaded = tf.saved_model.load(str(target))
  out = loaded.signatures["serving_default"](history=tf.constant([[""]]),
                                             history_mask=tf.constant([[False]]))
  assert out["item_ids"].shape == (1, 4)
  assert os.listdir(tmp_path / "models") == ["pop"]  # no staging directory left
  other = tmp_path / "notes"
  other.mkdir()
  (other / "keep.txt").write_text("mine")
  with pytest.raises(InputError, match="not a SavedModel"):
    export_model(model, split, str(other), top_k=3)
  assert (other / "keep.txt").read_text() == "mine"


def _serve(directory, history, mask, k=None):
  """{output: numpy} of `serving_default` (or `top_k` with `k`) of the export in `directory`."""
  loaded = tf.saved_model.load(directory)
  inputs = {"history": tf.constant(history, tf.string),
            "history_mask": tf.constant(mask, tf.bool)}
  if k is None:
    out = loaded.signatures["serving_default"](**inputs)
  else:
    out = loaded.signatures["top_k"](k=tf.constant(k), **inputs)
  return {name: value.numpy() for name, value in out.items()}


# Rows: an all-masked history, only unknown ids, a known id beside an unknown one, and a
# known id beside a masked known one.
HISTORY = [["", ""], ["x", "y"], ["2", "9"], ["2", "4"]]
MASK = [[False, False], [True, True], [True, True], [True, False]]


@pytest.mark.parametrize("model", ["ease", "itempop"])
def test_a_history_without_known_items_gets_the_most_popular_training_items(
    tiny, tmp_path, model):
  fitted = (EASE(1.0) if model == "ease" else ItemPop()).fit(tiny.split.train)
  directory = export_model(fitted, tiny.split, str(tmp_path / model), top_k=4)
  out = _serve(directory, HISTORY, MASK)
  np.testing.assert_array_equal(out["fallback"], [True, True, False, False])
  for row in (0, 1):
    # Not the first columns with score 0 (EASE scores an empty history 0 everywhere): the
    # most popular items, scored by their number of training users.
    assert out["item_ids"][row].astype(str).tolist() == tiny.popular[:4]
    np.testing.assert_array_equal(out["scores"][row], tiny.popularity[:4])
  history = sp.csr_matrix(([1.0], ([0], [1])), shape=(1, 6))  # item "2"
  expected = np.where(history.toarray() > 0, -np.inf, fitted.score(np.zeros(1), history))[0]
  column = {item: j for j, item in enumerate(tiny.item_ids)}
  for row in (2, 3):  # the model's own scores of the known item
    ids = out["item_ids"][row].astype(str).tolist()
    assert "2" not in ids
    np.testing.assert_allclose(out["scores"][row], expected[[column[i] for i in ids]],
                               atol=1e-6)
    np.testing.assert_allclose(out["scores"][row], np.sort(expected)[::-1][:4], atol=1e-6)
  empty = _serve(directory, np.zeros([2, 0], str).tolist(), np.zeros([2, 0], bool).tolist(),
                 k=2)  # a history of width 0
  np.testing.assert_array_equal(empty["fallback"], [True, True])
  assert empty["item_ids"].astype(str).tolist() == [tiny.popular[:2]] * 2


def test_item_names_are_kept_in_the_export_and_read_back_through_the_signatures(tiny, tmp_path):
  names = read_item_names(str(tiny.testdata / "item_names.tsv"))  # ids 1-7; 7 is no item
  directory = export_model(EASE(1.0).fit(tiny.split.train), tiny.split,
                           str(tmp_path / "ease"), top_k=3, item_names=names)
  for k in (None, 6):
    out = _serve(directory, HISTORY, MASK, k=k)
    ids = out["item_ids"].astype(str)
    assert out["item_names"].shape == ids.shape == (4, k or 3)
    for row_ids, row_names in zip(ids, out["item_names"]):
      assert [name.decode() for name in row_names] == [
          names.names[item] if item else "" for item in row_ids]
  assert "" in ids[2] and out["item_names"][2][-1] == b""  # a padding slot has no name
  assert out["item_names"][0][0].decode() == "Get Shorty"  # the most popular item, "4"
  unnamed = _serve(export_model(ItemPop().fit(tiny.split.train), tiny.split,
                                str(tmp_path / "pop"), top_k=3), HISTORY, MASK)
  assert (unnamed["item_names"] == b"").all() and unnamed["item_names"].shape == (4, 3)


def test_item_names_of_another_catalogue_are_refused(tiny, tmp_path):
  with pytest.raises(InputError, match="none of its 2 ids is an item of the model"):
    export_model(ItemPop().fit(tiny.split.train), tiny.split, str(tmp_path / "pop"),
                 item_names=ItemNames({"100": "a", "200": "b"}, path="names.tsv"))
  assert not (tmp_path / "pop").exists()
