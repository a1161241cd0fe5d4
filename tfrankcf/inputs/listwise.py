"""List-wise batches (GuidedRec, TF-Ranking losses): B_L users x K items with binary labels.

Each list is one user drawn uniformly among the users with at least one
training item, then `num_positives` of the user's training items and
K - `num_positives` items the user never interacted with, both drawn uniformly
WITH replacement, positives first (the GuidedRec code's `GetTrainSample`: 25
lists of 5 + 5 items, 250 pairs per batch). Negatives are drawn by exact
vectorised rejection (`tfrankcf.inputs.negatives`).

An "epoch" is, as in the original, `nnz // (B_L * num_positives)` batches, so
each training pair is drawn once per epoch in expectation. Every draw is
stateless in (seed, epoch, batch index), so an epoch is the same whatever the
parallelism and a resumed run repeats it exactly.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.inputs.negatives import NegativeSampler, training_csr

DEFAULT_LISTS_PER_BATCH = 25  # GuidedRec code: 250 pairs = 25 lists x 10 items
DEFAULT_LIST_SIZE = 10


class ListwiseSampler:
  """Epoch datasets of {"user_index" [B_L], "items" [B_L, K] int64, "labels" [B_L, K] float32}.

  Calling the object is its `dataset` method, i.e. it is a `dataset_fn` for the
  trainer.
  """

  def __init__(self, matrix: sp.csr_matrix, lists_per_batch: int = DEFAULT_LISTS_PER_BATCH,
               list_size: int = DEFAULT_LIST_SIZE, num_positives: int | None = None,
               seed: int = 0, batches_per_epoch: int | None = None):
    self.negatives = NegativeSampler(matrix)
    matrix = training_csr(matrix)
    self.num_users, self.num_items = matrix.shape
    self.lists_per_batch = int(lists_per_batch)
    self.list_size = int(list_size)
    self.num_positives = self.list_size // 2 if num_positives is None else int(num_positives)
    if not 0 < self.num_positives < self.list_size:
      raise InputError(f"a list of {self.list_size} items needs between 1 and "
                       f"{self.list_size - 1} positives, got {self.num_positives}")
    self.seed = int(seed)
    self.num_pairs = int(matrix.nnz)
    self._batches_per_epoch = batches_per_epoch
    self._eligible = tf.constant(np.flatnonzero(np.diff(matrix.indptr) > 0).astype(np.int64))
    self._indptr = tf.constant(matrix.indptr.astype(np.int64))
    self._indices = tf.constant(matrix.indices.astype(np.int64))

  @property
  def batches_per_epoch(self) -> int:
    if self._batches_per_epoch:
      return int(self._batches_per_epoch)
    return max(1, self.num_pairs // (self.lists_per_batch * self.num_positives))

  @property
  def examples_per_epoch(self) -> int:
    """Lists per epoch."""
    return self.batches_per_epoch * self.lists_per_batch

  def sample_positives(self, users: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """`num_positives` training items [B, P] of each user, uniform with replacement."""
    start = tf.gather(self._indptr, users)
    count = tf.gather(self._indptr, users + 1) - start
    uniform = tf.random.stateless_uniform([tf.size(users), self.num_positives], seed,
                                          dtype=tf.float64)
    offsets = tf.cast(uniform * tf.cast(count[:, tf.newaxis], tf.float64), tf.int64)
    offsets = tf.minimum(offsets, count[:, tf.newaxis] - 1)
    return tf.gather(self._indices, start[:, tf.newaxis] + offsets)

  def sample(self, seed: tf.Tensor) -> dict:
    """One batch from a stateless seed [2]."""
    fold = tf.random.experimental.stateless_fold_in
    pick = tf.random.stateless_uniform([self.lists_per_batch], fold(seed, 0), minval=0,
                                       maxval=tf.size(self._eligible, out_type=tf.int64),
                                       dtype=tf.int64)
    users = tf.gather(self._eligible, pick)
    items = tf.concat([self.sample_positives(users, fold(seed, 1)),
                       self.negatives.sample(users, fold(seed, 2),
                                             self.list_size - self.num_positives)],
                      axis=1)
    labels = tf.concat([tf.ones([self.lists_per_batch, self.num_positives]),
                        tf.zeros([self.lists_per_batch, self.list_size - self.num_positives])],
                       axis=1)
    return {"user_index": users, "items": items, "labels": labels}

  def dataset(self, epoch: int = 0) -> tf.data.Dataset:
    epoch_seed = tf.constant([self.seed, int(epoch)], tf.int64)

    def batch(index):
      return self.sample(tf.random.experimental.stateless_fold_in(epoch_seed, index))

    return (tf.data.Dataset.range(self.batches_per_epoch)
            .map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))

  def __call__(self, epoch: int = 0) -> tf.data.Dataset:
    return self.dataset(epoch)
