"""The in-graph metrics agree with the numpy ones."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.metrics import ranking, ranking_tf


@pytest.mark.parametrize("k", [3, 10, 100])
def test_ndcg_and_recall_match_numpy_on_untied_rows(k):
  rng = np.random.default_rng(k)
  scores = rng.normal(size=(64, 10 if k < 100 else 500)).astype(np.float32)
  labels = (rng.random(scores.shape) < 0.2).astype(np.float32)
  labels[0] = 0.0  # a row without a relevant item
  expected_ndcg = np.nan_to_num(ranking.ndcg_at_k(scores, labels > 0, k))
  expected_recall = np.nan_to_num(ranking.recall_at_k(scores, labels > 0, k))
  np.testing.assert_allclose(ranking_tf.ndcg_at_k(labels, scores, k), expected_ndcg,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(ranking_tf.recall_at_k(labels, scores, k), expected_recall,
                             rtol=1e-5, atol=1e-6)


def test_full_catalogue_with_excluded_items_inside_tf_function():
  rng = np.random.default_rng(1)
  scores = rng.normal(size=(8, 300)).astype(np.float32)
  observed = rng.random(scores.shape) < 0.3
  labels = ((rng.random(scores.shape) < 0.1) & ~observed).astype(np.float32)
  masked = np.where(observed, -np.inf, scores).astype(np.float32)
  compiled = tf.function(lambda l, s: ranking_tf.ndcg_at_k(l, s, 100))
  np.testing.assert_allclose(compiled(labels, masked),
                             np.nan_to_num(ranking.ndcg_at_k(masked, labels > 0, 100)),
                             rtol=1e-5)
