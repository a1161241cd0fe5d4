"""SavedModel export of a trained recommender: raw item ids in, top-K raw item ids out.

`export_model(model, split, export_dir, top_k, item_names)` wraps any trained
model (a `tfrankcf.methods.base.Model`, or any model with a `serving_scorer()`,
as EASE and ItemPop have) in a `tf.Module` and saves it with two signatures that need nothing from tfrankcf to call:

* `serving_default(history, history_mask[, user_id])` -> `item_ids`, `scores`,
  `item_names`, `fallback` with K = `top_k` baked in (a signature input cannot
  have a default);
* `top_k(history, history_mask[, user_id], k)`: the same with K chosen per call.

`history` is a padded batch [B, H] of raw item ids as strings (the dataset's
ids, e.g. "50" for ML-100K's Star Wars), `history_mask` [B, H] bool marks the
real entries. Ids the model was not trained on are ignored. `user_id` [B]
int64, present only for ID-based models (MF-BPR, APR, GraphRec, NeuMF /
GuidedRec), is the user's row in the training matrix: a split records no raw
user ids (for the leave-one-out and `given` protocols row r is the r-th
smallest raw user id). Outputs, best first:

* `item_ids` [B, K] string; history items are never returned (a slot with no
  item left has id "" and score -inf). K is capped at the catalogue size.
* `scores` [B, K] float32: the model's scores.
* `item_names` [B, K] string: the items' names (titles) given at export
  (`tfrankcf.serving.item_names`), "" for an item without one or an export
  without names.
* `fallback` [B] bool: True for a row whose history holds no item the model
  knows (empty, all masked or all unknown ids) when the model scores
  histories. Such a row gets the most popular training items instead of the
  model's ranking of an empty history (EASE scores it 0 everywhere), and its
  `scores` are those items' training popularity: the number of training
  users who interacted with each (float32, >= 0; a scale of its own, not the
  model's). ID-based models score the user, not the history: never a fallback.

The SavedModel holds the model's variables, the id and name tables and the
training popularity only (no Keras objects), so `tf.saved_model.load` and TF
Serving read it as is. It is written beside `export_dir` and renamed into
place, so a reader never sees half an export.
"""

import os
import shutil
import tempfile

from absl import logging as absl_logging
import numpy as np
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.protocols.split import Split
from tfrankcf.serving.item_names import ItemNames

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


def scorer_for(model) -> tf.Module:
  """The scoring module of a trained model: (user_index [B], history [B, M]) -> [B, M].

  A model that is not a Keras `tfrankcf.methods.base.Model` (a closed-form
  baseline) exports through its own `serving_scorer()`: a `tf.Module` with that
  call and a `uses_user_id` attribute.
  """
  if hasattr(model, "serving_scorer"):
    return model.serving_scorer()
  if hasattr(model, "predict_scores") and hasattr(model, "uses_history"):
    return _TrainedScorer(model)
  raise InputError(f"cannot export a {type(model).__name__}: not a trained tfrankcf model")


class ServingModule(tf.Module):
  """The exported object: id and name tables, popularity, a scorer and the serving functions."""

  def __init__(self, scorer: tf.Module, item_ids: np.ndarray, num_users: int, top_k: int,
               popularity: np.ndarray | None = None, item_names: list | None = None):
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
    names = [""] * self.num_items if item_names is None else [str(n) for n in item_names]
    if len(names) != self.num_items:
      raise ValueError(f"{len(names)} item names for {self.num_items} items")
    self.item_names = tf.Variable(tf.constant(names, tf.string), trainable=False,
                                  name="item_names")
    popularity = (np.zeros(self.num_items, np.float32) if popularity is None
                  else np.asarray(popularity, np.float32).ravel())
    if popularity.shape != (self.num_items,):
      raise ValueError(f"popularity of shape {popularity.shape} for {self.num_items} items")
    self.item_popularity = tf.Variable(popularity, trainable=False, name="item_popularity")
    # Most popular first, ties by column (the order of `tf.math.top_k` on the popularity).
    self.popular_items = tf.Variable(np.argsort(-popularity, kind="stable").astype(np.int32),
                                     trainable=False, name="popular_items")

  def dense_history(self, history, history_mask):
    """Binary [B, M] rows of the known, unmasked ids of `history` [B, H]."""
    index = self.item_index.lookup(history)
    positions = tf.where(tf.logical_and(history_mask, index >= 0))
    rows = tf.stack([positions[:, 0], tf.gather_nd(index, positions)], axis=1)
    batch = tf.shape(history, out_type=tf.int64)[0]
    return tf.tensor_scatter_nd_max(
        tf.zeros(tf.stack([batch, self.num_items])), rows, tf.ones([tf.shape(rows)[0]]))

  def recommend(self, history, history_mask, user_id, k):
    """Top-`k` raw item ids, scores and names, history excluded; see the module docstring.

    Returns {"item_ids": [B, K] string, "scores": [B, K] float32, "item_names":
    [B, K] string, "fallback": [B] bool}. A `fallback` row (a history-based
    model given no known item) holds the K most popular training items, each
    scored by its training popularity (the number of training users who
    interacted with it), not by the model.
    """
    dense = self.dense_history(history, history_mask)
    checks = []
    if self.scorer.uses_user_id:
      message = "user_id must be a training row index in [0, num_users)"
      checks = [tf.debugging.assert_non_negative(user_id, message=message),
                tf.debugging.assert_less(user_id, self.num_users, message=message)]
    with tf.control_dependencies(checks):
      scores = self.scorer(user_id, dense)
    scores = tf.where(dense > 0, tf.constant(-np.inf, scores.dtype), scores)
    k = tf.minimum(tf.cast(k, tf.int32), self.num_items)
    top = tf.math.top_k(scores, k=k)
    indices, values = top.indices, top.values
    if self.scorer.uses_user_id:
      fallback = tf.zeros([tf.shape(dense)[0]], tf.bool)
    else:
      fallback = tf.logical_not(tf.reduce_any(dense > 0, axis=1))
      popular = self.popular_items[:k]
      indices = tf.where(fallback[:, None], popular[None, :], indices)
      values = tf.where(fallback[:, None],
                        tf.cast(tf.gather(self.item_popularity, popular), values.dtype)[None, :],
                        values)
    found = values > -np.inf
    item_ids = tf.where(found, tf.gather(self.item_ids, indices), PADDING_ID)
    item_names = tf.where(found, tf.gather(self.item_names, indices), "")
    return {"item_ids": item_ids, "scores": values, "item_names": item_names,
            "fallback": fallback}

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


def training_popularity(split: Split) -> np.ndarray:
  """float32 [M]: the number of training users who interacted with each item."""
  return np.asarray((split.train > 0).sum(axis=0), np.float32).ravel()


def export_model(model, split: Split, export_dir: str, top_k: int = 100,
                 item_names: ItemNames | None = None) -> str:
  """Saves `model` (trained on `split`) as a SavedModel in `export_dir`; returns its path.

  `item_names` (`tfrankcf.serving.item_names.read_item_names`) become the
  `item_names` output; it is an error when they name none of the items. An
  existing SavedModel in `export_dir` is replaced; any other non-empty
  directory there is an error, so a typo cannot delete unrelated files.
  """
  export_dir = os.path.abspath(export_dir)
  if os.path.exists(export_dir) and (not os.path.isdir(export_dir) or (
      os.listdir(export_dir) and not tf.saved_model.contains_saved_model(export_dir))):
    raise InputError("exists and is not a SavedModel; not replacing it", path=export_dir)
  names = None
  if item_names is not None:
    names = item_names.for_items(split.item_ids)
    named, total = item_names.coverage(split.item_ids)
    if named < total:
      absl_logging.warning("item names: %d of %d items have no name in %s", total - named,
                           total, item_names.path)
  module = ServingModule(scorer_for(model), split.item_ids, split.num_users, top_k,
                         popularity=training_popularity(split), item_names=names)
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
