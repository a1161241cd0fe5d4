"""Batches of whole user rows of a sparse matrix, sparse or densified per batch in-graph.

The CSR matrix is held as three tensors; each batch of user indices is turned
into its rows by gathers inside the tf.data graph, and no per-example Python
runs. With `sparse=True` a batch's history is a `tf.SparseTensor` [B, M] (the
autoencoders' sparse first layer reads it); otherwise its dense [B, M] rows
(one scatter more), so the dense matrix only ever exists one batch at a time.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


class UserRows:
  """Epoch datasets of {"user_index": int64 [B], "history": float32 [B, M]}.

  The history is dense, or with `sparse=True` a `tf.SparseTensor` [B, M] of
  the same values (positions in row-major order, each row's items sorted).
  The user order of epoch e is a permutation drawn from (seed, e), so the
  same epoch always yields the same batches (exact resume). Calling the
  object is its `dataset` method, i.e. it is a `dataset_fn` for the trainer.
  """

  def __init__(self, matrix: sp.csr_matrix, batch_size: int = 500, seed: int = 0,
               shuffle: bool = True, drop_remainder: bool = False, sparse: bool = False):
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    self.num_users, self.num_items = matrix.shape
    self.batch_size = int(batch_size)
    self.seed = int(seed)
    self.shuffle = shuffle
    self.drop_remainder = drop_remainder
    self.sparse = bool(sparse)
    self._indptr = tf.constant(matrix.indptr.astype(np.int64))
    self._indices = tf.constant(matrix.indices.astype(np.int64))
    self._values = tf.constant(matrix.data.astype(np.float32))

  @property
  def batches_per_epoch(self) -> int:
    if self.drop_remainder:
      return self.num_users // self.batch_size
    return -(-self.num_users // self.batch_size)

  def order(self, epoch: int) -> np.ndarray:
    """The user order of `epoch`."""
    if not self.shuffle:
      return np.arange(self.num_users, dtype=np.int64)
    rng = np.random.default_rng([self.seed, int(epoch)])
    return rng.permutation(self.num_users).astype(np.int64)

  def sparse_rows(self, users: tf.Tensor) -> tf.SparseTensor:
    """The rows of `users` [B] as a `tf.SparseTensor` [B, M] (row-major positions)."""
    starts = tf.gather(self._indptr, users)
    limits = tf.gather(self._indptr, users + 1)
    positions = tf.ragged.range(starts, limits)
    flat = positions.flat_values
    coordinates = tf.stack([positions.value_rowids(), tf.gather(self._indices, flat)],
                           axis=1)
    shape = tf.stack([tf.shape(users, out_type=tf.int64)[0],
                      tf.constant(self.num_items, tf.int64)])
    return tf.SparseTensor(coordinates, tf.gather(self._values, flat), shape)

  def rows(self, users: tf.Tensor) -> tf.Tensor:
    """Dense rows [B, M] of `users` [B]."""
    sparse = self.sparse_rows(users)
    return tf.scatter_nd(sparse.indices, sparse.values, sparse.dense_shape)

  def batch(self, users: tf.Tensor) -> dict:
    """The training batch of `users` [B]: their indices and histories (sparse or dense)."""
    return {"user_index": users,
            "history": self.sparse_rows(users) if self.sparse else self.rows(users)}

  def dataset(self, epoch: int = 0) -> tf.data.Dataset:
    users = tf.data.Dataset.from_tensor_slices(self.order(epoch))
    batches = users.batch(self.batch_size, drop_remainder=self.drop_remainder)
    return batches.map(self.batch,
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True).prefetch(tf.data.AUTOTUNE)

  def __call__(self, epoch: int = 0) -> tf.data.Dataset:
    return self.dataset(epoch)
