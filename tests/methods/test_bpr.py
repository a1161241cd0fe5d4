"""MF-BPR: TF1 Adagrad on the summed (or mean) BPR loss, row-sparse updates."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.inputs.triplets import Triplets
from tfrankcf.methods.bpr import BPR, BPRConfig


def _batch(users, positives, negatives):
  return {"user_index": tf.constant(users, tf.int64),
          "positive": tf.constant(positives, tf.int64),
          "negative": tf.constant(negatives, tf.int64)}


def _bpr_table_gradients(p, q, users, positives, negatives):
  """Numpy gradient of sum_b softplus(-x_b) w.r.t. P and Q."""
  grad_p, grad_q = np.zeros_like(p), np.zeros_like(q)
  for u, i, j in zip(users, positives, negatives):
    x = p[u] @ (q[i] - q[j])
    g = -1.0 / (1.0 + np.exp(x))  # d softplus(-x) / dx
    grad_p[u] += g * (q[i] - q[j])
    grad_q[i] += g * p[u]
    grad_q[j] -= g * p[u]
  return grad_p, grad_q


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_one_step_is_tf1_adagrad_on_the_reduced_loss(reduction):
  config = BPRConfig(embedding_dim=3, init_stddev=0.5, loss_reduction=reduction)
  model = BPR(4, 5, config, seed=0)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  users, positives, negatives = [0, 0, 2], [1, 3, 1], [3, 2, 4]
  model.bpr_step(_batch(users, positives, negatives))
  grad_p, grad_q = _bpr_table_gradients(p, q, users, positives, negatives)
  if reduction == "mean":
    grad_p, grad_q = grad_p / 3, grad_q / 3
  expected_p = p - 0.05 * grad_p / np.sqrt(0.1 + grad_p ** 2)
  expected_q = q - 0.05 * grad_q / np.sqrt(0.1 + grad_q ** 2)
  np.testing.assert_allclose(model.mf.user_embeddings.numpy(), expected_p, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(model.mf.item_embeddings.numpy(), expected_q, rtol=1e-5, atol=1e-7)
  np.testing.assert_array_equal(model.mf.user_embeddings.numpy()[[1, 3]], p[[1, 3]])
  assert np.all(model.mf.item_embeddings.numpy()[0] == q[0])


def test_l2_term_is_a_batch_and_dimension_mean():
  model = BPR(3, 4, BPRConfig(embedding_dim=2, l2=0.3, init_stddev=0.5), seed=1)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  batch = _batch([0, 2], [1, 3], [2, 0])
  loss, margins = model.bpr_objective(batch)
  x = np.array([p[0] @ (q[1] - q[2]), p[2] @ (q[3] - q[0])])
  np.testing.assert_allclose(margins, x, rtol=1e-5, atol=1e-7)
  penalty = 0.3 * np.mean(p[[0, 2]] ** 2 + q[[1, 3]] ** 2 + q[[2, 0]] ** 2)
  np.testing.assert_allclose(loss, np.sum(np.log1p(np.exp(-x))) + penalty, rtol=1e-5, atol=1e-6)


def test_training_improves_ranking_accuracy():
  rng = np.random.default_rng(0)
  users, items = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
  matrix = sp.csr_matrix((users @ items.T > 0.8).astype(np.float32))
  triplets = Triplets(matrix, batch_size=64, seed=0)
  model = BPR(40, 30, BPRConfig(embedding_dim=8), seed=0)
  model.compile(optimizer=model.bpr_optimizer)
  first = model.fit(triplets(0), verbose=0).history["accuracy"][0]
  for epoch in range(1, 8):
    last = model.fit(triplets(epoch), verbose=0).history["accuracy"][0]
  assert last > first + 0.2


def test_large_model_trains_with_row_sparse_gradients():
  """30K users x 40K items x 64 dims: gradients and updates touch only the batch's rows."""
  model = BPR(30_000, 40_000, BPRConfig(), seed=0)
  batch = _batch(np.arange(512) * 7, np.arange(512) * 11, np.arange(512) * 13 + 1)
  with tf.GradientTape() as tape:
    loss, _ = model.bpr_objective(batch)
  gradients = tape.gradient(loss, model.mf.trainable_variables)
  assert all(isinstance(g, tf.IndexedSlices) for g in gradients)
  before = model.mf.user_embeddings.numpy()
  model.bpr_step(batch)
  changed = np.flatnonzero(np.any(model.mf.user_embeddings.numpy() != before, axis=1))
  assert set(changed) <= set(np.arange(512) * 7)


def test_id_based_scoring_skips_histories_and_refuses_unseen_users():
  from tfrankcf.errors import InputError  # pylint: disable=g-import-not-at-top
  model = BPR(4, 6, BPRConfig(embedding_dim=3), seed=0)
  history = sp.csr_matrix((2, 6), dtype=np.float32)
  scores = model.score(np.array([0, 3]), history)
  np.testing.assert_allclose(scores, model.mf.all_item_scores(tf.constant([0, 3])).numpy(),
                             rtol=1e-6, atol=1e-10)  # scores ~1e-4
  with pytest.raises(InputError, match="unseen in training"):
    model.score(np.array([0, -1]), history)
