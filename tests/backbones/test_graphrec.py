"""GraphRec: sparse graph features equal the dense feature matrices; full = candidate scores."""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.graphrec import GraphRec


def _matrix():
  rng = np.random.default_rng(1)
  dense = (rng.random((7, 11)) < 0.35) * rng.integers(1, 6, (7, 11))
  dense[3] = 0  # a user without items
  return sp.csr_matrix(dense.astype(np.float32))


def _dense_features(matrix):
  """[one-hot, row / max value, degree / max degree] of every row, in numpy."""
  dense = matrix.toarray()
  degree = (dense > 0).sum(1, keepdims=True)
  return np.concatenate([np.eye(dense.shape[0]), dense / dense.max(),
                         degree / degree.max()], axis=1)


def _crelu(x):
  return np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=-1)


def test_graph_features_match_dense_feature_matrices():
  matrix = _matrix()
  model = GraphRec(matrix, embedding_dim=4, graph_features=True, seed=0)
  users = tf.constant([0, 3, 6], tf.int64)
  items = tf.constant([[0, 1, 10], [2, 2, 5], [9, 4, 3]], tf.int64)
  for side in (model.user_side, model.item_side):  # non-zero biases test the bias path
    side.bias.assign(tf.random.stateless_normal(side.bias.shape, [1, 2]))
  logits = model(users, items).numpy()
  user_vectors = _crelu(_dense_features(matrix) @ model.user_side.kernel.numpy()
                        + model.user_side.bias.numpy())
  item_vectors = _crelu(_dense_features(matrix.T.tocsr()) @ model.item_side.kernel.numpy()
                        + model.item_side.bias.numpy())
  expected = np.einsum("bd,bld->bl", user_vectors[users.numpy()], item_vectors[items.numpy()])
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-7)
  assert model.user_side.kernel.shape == (7 + 11 + 1, 4)
  assert model.item_side.kernel.shape == (11 + 7 + 1, 4)


def test_one_hot_ids_are_a_lookup_with_sparse_gradients():
  matrix = _matrix()
  model = GraphRec(matrix, embedding_dim=3, graph_features=False, seed=0)
  users = tf.constant([1, 2], tf.int64)
  items = tf.constant([[4, 5], [6, 4]], tf.int64)
  with tf.GradientTape() as tape:
    logits = model(users, items)
  gradient = tape.gradient(logits, model.user_side.kernel)
  assert isinstance(gradient, tf.IndexedSlices)
  assert model.user_side.kernel.shape == (7, 3) and model.item_side.kernel.shape == (11, 3)
  user_vectors = _crelu(model.user_side.kernel.numpy()[[1, 2]])
  item_vectors = _crelu(model.item_side.kernel.numpy()[items.numpy()])
  np.testing.assert_allclose(logits, np.einsum("bd,bld->bl", user_vectors, item_vectors),
                             rtol=1e-5, atol=1e-10)  # scores ~1e-4


def test_full_scores_gathered_equal_candidate_scores():
  matrix = _matrix()
  for graph_features in (True, False):
    model = GraphRec(matrix, embedding_dim=5, graph_features=graph_features, seed=2)
    users = tf.constant([0, 4, 6, 3], tf.int64)
    full = model.all_item_scores(users)
    assert full.shape == (4, 11)
    items = tf.constant(np.random.default_rng(0).integers(0, 11, (4, 6)))
    np.testing.assert_allclose(tf.gather(full, items, batch_dims=1),
                               model.candidate_scores(users, items), rtol=1e-5, atol=1e-9)


def test_init_is_normal_with_stddev_001_and_zero_bias():
  matrix = sp.random(300, 400, density=0.01, format="csr", random_state=0)
  model = GraphRec(matrix, embedding_dim=20, graph_features=False, seed=3)
  kernel = model.item_side.kernel.numpy()
  assert abs(kernel.std() - 0.01) < 5e-4 and abs(kernel.mean()) < 5e-4
  assert not model.item_side.bias.numpy().any()
