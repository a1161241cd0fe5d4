"""ItemPop: every user gets the items ranked by their number of training users."""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


class ItemPop:
  """Scores each item by its popularity in the training matrix (no personalisation)."""

  name = "itempop"
  uses_history = False

  def fit(self, train: sp.csr_matrix) -> "ItemPop":
    self.popularity = np.asarray(train.sum(axis=0), np.float32).ravel()
    # score_tf reads a variable, not a constant: its compiled function stays valid on a refit
    variable = getattr(self, "_popularity_tf", None)
    if variable is not None and variable.shape == self.popularity.shape:
      variable.assign(self.popularity)
    else:
      self._popularity_tf = tf.Variable(self.popularity, trainable=False)
    return self

  def score(self, user_index, history: sp.csr_matrix, items=None) -> np.ndarray:
    if items is not None:
      return self.popularity[np.asarray(items)]
    return np.broadcast_to(self.popularity, (history.shape[0], len(self.popularity))).copy()

  def score_tf(self, user_index: tf.Tensor, history: tf.SparseTensor) -> tf.Tensor:
    """The popularity row for every user [B, M], for the evaluator's compiled full ranking."""
    del history
    popularity = self._popularity_tf
    return tf.broadcast_to(popularity[None, :], [tf.shape(user_index)[0], popularity.shape[0]])

  def serving_scorer(self) -> tf.Module:
    """The SavedModel's scorer (`tfrankcf.serving.export`): the popularity row for every user."""
    return _ItemPopScorer(self.popularity)


class _ItemPopScorer(tf.Module):
  """ItemPop in a SavedModel: every user gets the training popularity."""

  uses_user_id = False

  def __init__(self, popularity: np.ndarray):
    super().__init__()
    self.popularity = tf.Variable(popularity, trainable=False, name="popularity")

  def __call__(self, user_index, history):
    del user_index
    return tf.broadcast_to(self.popularity, tf.shape(history))
