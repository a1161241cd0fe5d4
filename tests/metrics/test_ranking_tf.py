"""The in-graph metrics agree with the numpy ones on untied scores."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.metrics import ranking, ranking_tf


def _expected(name, labels, scores, k):
  """The numpy metric with 0 (not NaN) for rows without a relevant item."""
  metric = {"ndcg": ranking.ndcg_at_k, "recall": ranking.recall_at_k,
            "recall_full": ranking.recall_full_at_k}[name]
  return np.nan_to_num(metric(labels > 0, scores, k))


@pytest.mark.parametrize("k", [1, 3, 10, 25])
def test_match_numpy_on_untied_lists(k):
  rng = np.random.default_rng(k)
  scores = rng.normal(size=(64, 10)).astype(np.float32)  # k = 25 > L = 10
  labels = (rng.random(scores.shape) < 0.3).astype(np.float32)
  labels[0] = 0.0  # a row without a relevant item scores 0
  for name, metric in (("ndcg", ranking_tf.ndcg_at_k), ("recall", ranking_tf.recall_at_k),
                       ("recall_full", ranking_tf.recall_full_at_k)):
    np.testing.assert_allclose(metric(labels, scores, k), _expected(name, labels, scores, k),
                               rtol=1e-5, atol=1e-7)
  assert ranking_tf.ndcg_at_k(labels, scores, k)[0] == 0.0


def test_full_catalogue_with_excluded_items_inside_tf_function():
  rng = np.random.default_rng(1)
  scores = rng.normal(size=(8, 300)).astype(np.float32)
  observed = rng.random(scores.shape) < 0.3
  labels = ((rng.random(scores.shape) < 0.1) & ~observed).astype(np.float32)
  masked = np.where(observed, -np.inf, scores).astype(np.float32)
  masked[0, 120:] = -np.inf  # fewer finite items than k, so top_k returns -inf items
  masked[0, 0], labels[0, 0] = -np.inf, 1.0  # the first of them, relevant: still a miss

  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)] * 2)
  def targets(labels, scores):
    return (ranking_tf.ndcg_at_k(labels, scores, 100),
            ranking_tf.recall_at_k(labels, scores, 100),
            ranking_tf.recall_full_at_k(labels, scores, 100))

  ndcg, recall, recall_full = targets(labels, masked)
  assert np.all(np.isfinite(ndcg)) and np.all(ndcg > 0)
  np.testing.assert_allclose(ndcg, _expected("ndcg", labels, masked, 100), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(recall, _expected("recall", labels, masked, 100), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(recall_full, _expected("recall_full", labels, masked, 100),
                             rtol=1e-5, atol=1e-7)


def test_ties_follow_top_k_order():
  labels = tf.constant([[0.0, 1.0]])
  scores = tf.constant([[0.5, 0.5]])
  # top_k puts the lower index first, so the relevant item is at rank 2.
  assert float(ranking_tf.ndcg_at_k(labels, scores, 1)[0]) == 0.0
  assert float(ranking_tf.ndcg_at_k(labels[:, ::-1], scores, 1)[0]) == 1.0


def test_full_recall_by_hand():
  # 4 held-out items at ranks 1, 2, 4, 6; the last row has none (a finite target: 0).
  scores = tf.constant([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]] * 2)
  labels = tf.constant([[1.0, 1.0, 0.0, 1.0, 0.0, 1.0], [0.0] * 6])
  np.testing.assert_allclose(ranking_tf.recall_at_k(labels, scores, 3), [2 / 3, 0.0],
                             atol=1e-7)
  np.testing.assert_allclose(ranking_tf.recall_full_at_k(labels, scores, 3), [2 / 4, 0.0],
                             atol=1e-7)
  np.testing.assert_allclose(ranking_tf.recall_full_at_k(labels, scores, 10), [1.0, 0.0],
                             atol=1e-7)
