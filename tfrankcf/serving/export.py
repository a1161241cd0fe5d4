"""SavedModel export of a trained recommender: raw item ids in, top-K raw item ids out.

`export_model(model, split, export_dir, top_k)` wraps any trained model (a
`tfrankcf.methods.base.Model`, `EASE` or `ItemPop`) in a `tf.Module` and saves
it with two signatures that need nothing from tfrankcf to call:

* `serving_default(history, history_mask[, user_id])` -> `item_ids`, `scores`
  with K = `top_k` baked in (a signature input cannot have a default);
* `top_k(history, history_mask[, user_id], k)`: the same with K chosen per call.

`history` is a padded batch [B, H] of raw item ids as strings (the dataset's
ids, e.g. "50" for ML-100K's Star Wars), `history_mask` [B, H] bool marks the
real entries. Ids the model was not trained on are ignored. `user_id` [B]
int64, present only for ID-based models (MF-BPR, APR, GraphRec, NeuMF /
GuidedRec), is the user's row in the training matrix: a split records no raw
user ids (for the leave-one-out and `given` protocols row r is the r-th
smallest raw user id). Outputs: `item_ids` [B, K] string and `scores` [B, K]
float32, best first; history items are scored -inf and never returned (a slot
with no item left has id "" and score -inf). K is capped at the catalogue size.

The SavedModel holds the model's variables and the id tables only (no Keras
objects), so `tf.saved_model.load` and TF Serving read it as is. It is written
beside `export_dir` and renamed into place, so a reader never sees half an
export.
"""

import os
import shutil
import tempfile

from absl import logging as absl_logging
import numpy as np
import tensorflow as tf

from tfrankcf.baselines import EASE, ItemPop
from tfrankcf.errors import InputError
from tfrankcf.protocols.split import Split

SERVING_DEFAULT = "serving_default"
TOP_K = "top_k"
PADDING_ID = ""  # item id of a result slot with no item left


class _TrainedScorer(tf.Module):
  """Scores of a `tfrankcf.methods.base.Model`, through its `predict_scores`."""

  def __init__(self, model):
    super().__init__()
    self.uses_user_id = not model.uses_history
    self._predict = model.predict_scores  # a bound method: the Keras model stays untracked
    # Scoring once builds any lazily created variable before they are collected.
    self._predict(tf.zeros([1], tf.int64),
                  tf.zeros([1, model.num_items if model.uses_history else 0]))
    self.model_variables = list(model.variables)

  def __call__(self, user_index, history):
    if self.uses_user_id:
      history = tf.zeros([tf.shape(user_index)[0], 0])
    return self._predict(user_index, history)


class _EASEScorer(tf.Module):
  """EASE: history rows times the item-item weights."""

  uses_user_id = False

  def __init__(self, model: EASE):
    super().__init__()
    self.weights = tf.Variable(model.weights, trainable=False, name="ease_weights")

  def __call__(self, user_index, history):
    del user_index
    return tf.matmul(history, self.weights)


class _ItemPopScorer(tf.Module):
  """ItemPop: every user gets the training popularity."""

  uses_user_id = False

  def __init__(self, model: ItemPop):
    super().__init__()
    self.popularity = tf.Variable(model.popularity, trainable=False, name="popularity")

  def __call__(self, user_index, history):
    del user_index
    return tf.broadcast_to(self.popularity, tf.shape(history))


def scorer_for(model) -> tf.Module:
  """The scoring module of a trained model: (user_index [B], history [B, M]) -> [B, M]."""
  if isinstance(model, EASE):
    return _EASEScorer(model)
  if isinstance(model, ItemPop):
    return _ItemPopScorer(model)
  if hasattr(model, "predict_scores") and hasattr(model, "uses_history"):
    return _TrainedScorer(model)
  raise InputError(f"cannot export a {type(model).__name__}: not a trained tfrankcf model")


class ServingModule(tf.Module):
  """The exported object: id tables, a scorer and the two serving functions."""

  def __init__(self, scorer: tf.Module, item_ids: np.ndarray, num_users: int, top_k: int):
    super().__init__()
    item_ids = np.asarray(item_ids).astype(str)
    if top_k < 1:
      raise InputError(f"the export's top K must be >= 1, got {top_k}")
    self.scorer = scorer
    self.num_items = len(item_ids)
    self.default_k = min(int(top_k), self.num_items)
    self.item_ids = tf.Variable(item_ids, trainable=False, name="item_ids")
    self.item_index = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(item_ids), tf.range(self.num_items, dtype=tf.int64)),
        default_value=-1)
    self.num_users = tf.Variable(int(num_users), dtype=tf.int64, trainable=False,
                                 name="num_users")

  def dense_history(self, history, history_mask):
    """Binary [B, M] rows of the known, unmasked ids of `history` [B, H]."""
    index = self.item_index.lookup(history)
    positions = tf.where(tf.logical_and(history_mask, index >= 0))
    rows = tf.stack([positions[:, 0], tf.gather_nd(index, positions)], axis=1)
    batch = tf.shape(history, out_type=tf.int64)[0]
    return tf.tensor_scatter_nd_max(
        tf.zeros(tf.stack([batch, self.num_items])), rows, tf.ones([tf.shape(rows)[0]]))

  def recommend(self, history, history_mask, user_id, k):
    """Top-`k` raw item ids and scores, history excluded."""
    dense = self.dense_history(history, history_mask)
    checks = []
    if self.scorer.uses_user_id:
      message = "user_id must be a training row index in [0, num_users)"
      checks = [tf.debugging.assert_non_negative(user_id, message=message),
                tf.debugging.assert_less(user_id, self.num_users, message=message)]
    with tf.control_dependencies(checks):
      scores = self.scorer(user_id, dense)
    scores = tf.where(dense > 0, tf.constant(-np.inf, scores.dtype), scores)
    top = tf.math.top_k(scores, k=tf.minimum(tf.cast(k, tf.int32), self.num_items))
    found = top.values > -np.inf
    item_ids = tf.where(found, tf.gather(self.item_ids, top.indices), PADDING_ID)
    return {"item_ids": item_ids, "scores": top.values}

  def signatures(self) -> dict:
    """{name: concrete function}: `serving_default` (K baked in) and `top_k` (K an input)."""
    history = tf.TensorSpec([None, None], tf.string, name="history")
    mask = tf.TensorSpec([None, None], tf.bool, name="history_mask")
    user = tf.TensorSpec([None], tf.int64, name="user_id")
    k = tf.TensorSpec([], tf.int32, name="k")
    default_k = self.default_k

    def no_user(history):
      return tf.zeros([tf.shape(history)[0]], tf.int64)

    if self.scorer.uses_user_id:
      serve = tf.function(lambda history, history_mask, user_id: self.recommend(
          history, history_mask, user_id, default_k), input_signature=[history, mask, user])
      serve_k = tf.function(self.recommend, input_signature=[history, mask, user, k])
    else:
      serve = tf.function(lambda history, history_mask: self.recommend(
          history, history_mask, no_user(history), default_k), input_signature=[history, mask])
      serve_k = tf.function(lambda history, history_mask, k: self.recommend(
          history, history_mask, no_user(history), k), input_signature=[history, mask, k])
    return {SERVING_DEFAULT: serve.get_concrete_function(),
            TOP_K: serve_k.get_concrete_function()}


def _save_quietly(module: ServingModule, path: str) -> None:
  """`tf.saved_model.save` without its INFO lines (input renames, fingerprint path)."""
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.WARNING)
  try:
    tf.saved_model.save(module, path, signatures=module.signatures())
  finally:
    absl_logging.set_verbosity(verbosity)


def export_model(model, split: Split, export_dir: str, top_k: int = 100) -> str:
  """Saves `model` (trained on `split`) as a SavedModel in `export_dir`; returns its path.

  An existing SavedModel in `export_dir` is replaced; any other non-empty
  directory there is an error, so a typo cannot delete unrelated files.
  """
  export_dir = os.path.abspath(export_dir)
  if os.path.exists(export_dir) and (not os.path.isdir(export_dir) or (
      os.listdir(export_dir) and not tf.saved_model.contains_saved_model(export_dir))):
    raise InputError("exists and is not a SavedModel; not replacing it", path=export_dir)
  module = ServingModule(scorer_for(model), split.item_ids, split.num_users, top_k)
  parent = os.path.dirname(export_dir)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(export_dir)}.tmp")
  try:
    _save_quietly(module, staging)
    if os.path.exists(export_dir):
      old = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(export_dir)}.old")
      os.replace(export_dir, os.path.join(old, "saved_model"))
      os.replace(staging, export_dir)
      shutil.rmtree(old)
    else:
      os.replace(staging, export_dir)
  finally:
    if os.path.exists(staging):
      shutil.rmtree(staging)
  return export_dir
