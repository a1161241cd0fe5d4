"""Uniform sampling of items a user has NOT interacted with, by exact vectorised rejection.

Shared by every sampler that needs negatives (BPR triplets, GuidedRec /
TF-Ranking lists): each slot draws a uniform item; the slots that hit a
training item of their user draw again, until none does. Membership is one
`tf.searchsorted` in the sorted keys u * M + i of the training pairs, so the
cost is O(B log nnz) per round and the expected number of rounds is small
unless a user has seen most of the catalogue. Round r draws with
`stateless_fold_in(seed, r)`: the result depends only on the seed.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError


def training_csr(matrix: sp.csr_matrix) -> sp.csr_matrix:
  """A canonical copy (no explicit zeros, sorted indices) of a users x items matrix."""
  matrix = sp.csr_matrix(matrix, copy=True)
  matrix.eliminate_zeros()
  matrix.sort_indices()
  return matrix


class NegativeSampler:
  """Draws non-training items of given users from a users x items training matrix."""

  def __init__(self, matrix: sp.csr_matrix):
    matrix = training_csr(matrix)
    self.num_users, self.num_items = matrix.shape
    counts = np.diff(matrix.indptr)
    if matrix.nnz == 0:
      raise InputError("the training matrix has no interactions to sample from")
    full = np.flatnonzero(counts >= self.num_items)
    if full.size:
      raise InputError(f"user {full[0]} has interacted with all {self.num_items} items; "
                       "no negative item can be sampled for them")
    users = np.repeat(np.arange(self.num_users, dtype=np.int64), counts)
    self._keys = tf.constant(users * self.num_items + matrix.indices)  # sorted

  def is_training_pair(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    """Whether each (user, item) is a training interaction.

    `users` is [B]; `items` is [B] or [B, J] (each row paired with its user).
    """
    users = tf.reshape(users, tf.concat([tf.shape(users), tf.ones(
        tf.rank(items) - 1, tf.int32)], 0))
    keys = users * self.num_items + items
    flat = tf.reshape(keys, [-1])
    position = tf.searchsorted(self._keys, flat)
    position = tf.minimum(position, tf.size(self._keys, out_type=position.dtype) - 1)
    found = tf.equal(tf.gather(self._keys, position), flat)
    return tf.reshape(found, tf.shape(keys))

  def sample(self, users: tf.Tensor, seed: tf.Tensor, per_user: int | None = None) -> tf.Tensor:
    """Non-training items of `users` [B]: shape [B], or [B, per_user] with replacement."""
    shape = tf.shape(users) if per_user is None else tf.stack(
        [tf.size(users), per_user])

    def draw(round_index):
      return tf.random.stateless_uniform(
          shape, seed=tf.random.experimental.stateless_fold_in(seed, round_index),
          minval=0, maxval=self.num_items, dtype=tf.int64)

    def rejected(_, negatives):
      return tf.reduce_any(self.is_training_pair(users, negatives))

    def redraw(round_index, negatives):
      round_index += 1
      hit = self.is_training_pair(users, negatives)
      return round_index, tf.where(hit, draw(round_index), negatives)

    start = tf.constant(0, tf.int64)
    _, negatives = tf.while_loop(rejected, redraw, (start, draw(start)))
    return negatives
