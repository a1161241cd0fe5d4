"""Full-catalogue ApproxNDCG against TF-Ranking's ApproxNDCG on catalogues small enough for it."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.losses import full_catalogue, ranking
from tfrankcf.losses.full_catalogue import FullCatalogueApproxNDCG

M = 40


def _rows(seed=0, num_rows=6):
  rng = np.random.default_rng(seed)
  labels = (rng.random((num_rows, M)) < 0.2).astype(np.float32)
  labels[0, :] = 0.0  # no relevant item: loss 0, weight 0 in TF-Ranking
  labels[1, :6] = -1.0  # padding
  labels[2] *= rng.integers(1, 4, size=M)  # graded
  logits = rng.normal(scale=2.0, size=(num_rows, M)).astype(np.float32)
  return tf.constant(labels), tf.constant(logits)


def _value_and_gradient(loss, labels, logits):
  weights = tf.range(1.0, labels.shape[0] + 1.0)  # a different upstream per row
  with tf.GradientTape() as tape:
    tape.watch(logits)
    values = loss(labels, logits)
    total = tf.reduce_sum(values * weights)
  return values.numpy(), tape.gradient(total, logits).numpy()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_equals_tf_ranking_approx_ndcg_values_and_gradients(seed, temperature):
  labels, logits = _rows(seed)
  want, want_gradient = _value_and_gradient(ranking.get("approx_ndcg", temperature=temperature),
                                            labels, logits)
  got, gradient = _value_and_gradient(FullCatalogueApproxNDCG(temperature), labels, logits)
  assert got[0] == 0.0 and np.all(gradient[0] == 0.0)
  assert np.all(got[1:] < 0.0)
  np.testing.assert_allclose(got, want, atol=1e-5)
  np.testing.assert_allclose(gradient, want_gradient, atol=1e-5)


def test_chunking_equals_one_chunk_in_a_tf_function():
  """One chunk whose sigmoids the gradient reuses, or chunks it recomputes: same values."""
  labels, logits = _rows(2)
  pairs, items = tf.constant(50, tf.int64), tf.constant(M, tf.int64)
  one_chunk = FullCatalogueApproxNDCG()  # 1 GiB: all 40 items in one chunk
  assert int(one_chunk.chunk_size(pairs)) >= M
  assert bool(one_chunk.keeps_sigmoids(pairs, items))
  tiny = FullCatalogueApproxNDCG(memory_budget_mb=50 * 3 * 16 / 2**20)  # 3 items per chunk
  assert int(tiny.chunk_size(pairs)) == 3
  assert not bool(tiny.keeps_sigmoids(pairs, items))
  want, want_gradient = _value_and_gradient(one_chunk, labels, logits)

  @tf.function
  def chunked():
    with tf.GradientTape() as tape:
      tape.watch(logits)
      values = tiny(labels, logits)
      total = tf.reduce_sum(values * tf.range(1.0, labels.shape[0] + 1.0))
    return values, tape.gradient(total, logits)

  got, gradient = chunked()
  np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)
  # summed in another order: gradients near 0 differ by a few ulp of the O(1) terms
  np.testing.assert_allclose(gradient.numpy(), want_gradient, rtol=1e-5, atol=2e-6)


def test_ranks_of_pairs_by_definition():
  scores = tf.constant([[0.0, 1.0, -2.0], [3.0, 0.5, 0.5]])
  rows, items = tf.constant([0, 1, 1], tf.int64), tf.constant([1, 0, 2], tf.int64)
  got = full_catalogue.approx_ranks_of_pairs(scores, rows, items, tf.constant(2, tf.int64))
  sigmoid = lambda x: 1 / (1 + np.exp(-x))
  s = scores.numpy()
  want = [0.5 + sigmoid(s[r] - s[r, i]).sum() for r, i in [(0, 1), (1, 0), (1, 2)]]
  np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_the_gradient_keeps_the_sigmoids_only_within_the_budget():
  pairs, items = tf.constant(1000, tf.int64), tf.constant(3000, tf.int64)
  chunk = 2**23 // 4 // 1000  # a cache-sized chunk: 8 MiB of floats over the pairs
  needed_mb = (1000 * 3000 * 4 + 4 * 4 * 1000 * chunk) / 2**20  # sigmoids + a chunk's blocks
  assert bool(FullCatalogueApproxNDCG(memory_budget_mb=needed_mb).keeps_sigmoids(pairs, items))
  assert not bool(FullCatalogueApproxNDCG(memory_budget_mb=needed_mb * 0.99).keeps_sigmoids(
      pairs, items))


def test_memory_budget_bounds_the_chunk():
  loss = FullCatalogueApproxNDCG(memory_budget_mb=1.0)
  for pairs in (1, 1000, 10**6, 10**9):
    chunk = int(loss.chunk_size(tf.constant(pairs, tf.int64)))
    assert chunk >= 1
    if chunk > 1:
      assert 4 * 4 * pairs * chunk <= 2**20
