"""MatrixFactorization: dot-product scores, truncated-normal init, row-sparse gradients."""

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins


def test_scores_are_dot_products():
  mf = MatrixFactorization(5, 7, embedding_dim=3, seed=0)
  p, q = mf.user_embeddings.numpy(), mf.item_embeddings.numpy()
  users = tf.constant([4, 0, 4], tf.int64)
  np.testing.assert_allclose(mf.all_item_scores(users), p[[4, 0, 4]] @ q.T, rtol=1e-5,
                             atol=1e-9)  # scores ~1e-4
  items = tf.constant([[1, 6], [0, 0], [5, 2]], tf.int64)
  expected = np.einsum("bk,bck->bc", p[[4, 0, 4]], q[items.numpy()])
  np.testing.assert_allclose(mf.candidate_scores(users, items), expected, rtol=1e-5, atol=1e-9)
  margins = triplet_margins(mf.users(users), mf.items(items[:, 0]), mf.items(items[:, 1]))
  np.testing.assert_allclose(margins, expected[:, 0] - expected[:, 1], rtol=1e-5, atol=1e-9)


def test_init_is_truncated_normal_with_stddev_0_01():
  mf = MatrixFactorization(2000, 10, embedding_dim=64, seed=1)
  values = mf.user_embeddings.numpy()
  assert np.abs(values).max() <= 0.02 + 1e-7  # truncated at two standard deviations
  assert 0.007 < values.std() < 0.0095  # 0.01 * 0.88 after truncation
  again = MatrixFactorization(2000, 10, embedding_dim=64, seed=1)
  np.testing.assert_array_equal(values, again.user_embeddings.numpy())  # same seeded kernel


def test_gradients_are_row_sparse():
  mf = MatrixFactorization(30, 40, embedding_dim=4, seed=0)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(mf.candidate_scores(tf.constant([1, 2], tf.int64),
                                             tf.constant([[3], [3]], tf.int64)))
  grad_p, grad_q = tape.gradient(loss, [mf.user_embeddings, mf.item_embeddings])
  assert isinstance(grad_p, tf.IndexedSlices) and isinstance(grad_q, tf.IndexedSlices)
  np.testing.assert_array_equal(np.sort(grad_q.indices.numpy()), [3, 3])
