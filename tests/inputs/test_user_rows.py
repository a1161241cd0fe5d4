"""UserRows: dense and sparse batches equal the csr rows; order is seeded per epoch."""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.inputs.user_rows import UserRows


def _matrix():
  rng = np.random.default_rng(0)
  dense = (rng.random((11, 7)) < 0.4).astype(np.float32)
  dense[3] = 0.0  # a user without items
  return sp.csr_matrix(dense)


def test_batches_are_the_permuted_rows():
  matrix = _matrix()
  rows = UserRows(matrix, batch_size=4, seed=3)
  batches = list(rows(epoch=2).as_numpy_iterator())
  assert [len(b["user_index"]) for b in batches] == [4, 4, 3]
  users = np.concatenate([b["user_index"] for b in batches])
  np.testing.assert_array_equal(users, rows.order(2))
  assert sorted(users) == list(range(11))
  history = np.concatenate([b["history"] for b in batches])
  np.testing.assert_array_equal(history, matrix.toarray()[users])
  assert history.dtype == np.float32


def test_order_is_a_function_of_seed_and_epoch():
  matrix = _matrix()
  first = UserRows(matrix, seed=1).order(0)
  np.testing.assert_array_equal(first, UserRows(matrix, seed=1).order(0))
  assert not np.array_equal(first, UserRows(matrix, seed=1).order(1))
  assert not np.array_equal(first, UserRows(matrix, seed=2).order(0))
  np.testing.assert_array_equal(UserRows(matrix, shuffle=False).order(5), np.arange(11))


def test_drop_remainder():
  rows = UserRows(_matrix(), batch_size=4, drop_remainder=True)
  assert rows.batches_per_epoch == 2
  assert len(list(rows(0))) == 2
  assert UserRows(_matrix(), batch_size=4).batches_per_epoch == 3


def test_sparse_batches_hold_the_dense_batches_values():
  matrix = _matrix()
  dense = list(UserRows(matrix, batch_size=4, seed=3)(epoch=1).as_numpy_iterator())
  sparse = list(UserRows(matrix, batch_size=4, seed=3, sparse=True)(epoch=1))
  assert len(sparse) == len(dense)
  for s, d in zip(sparse, dense):
    np.testing.assert_array_equal(s["user_index"].numpy(), d["user_index"])
    history = s["history"]
    assert isinstance(history, tf.SparseTensor) and history.values.dtype == tf.float32
    np.testing.assert_array_equal(tf.sparse.to_dense(history).numpy(), d["history"])
    indices = history.indices.numpy()  # row-major, items sorted within a row
    np.testing.assert_array_equal(indices, sorted(map(tuple, indices)))
    assert history.dense_shape.numpy().tolist() == [len(d["user_index"]), 7]
