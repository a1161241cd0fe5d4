"""WARP: the sort-based loss equals the O(M^2) pairwise definition."""

import numpy as np
import tensorflow as tf

from tfrankcf.losses.warp import warp_loss


def _pairwise_warp(labels, scores):
  """Direct sum over (relevant i, irrelevant j above i) of w(r_i) (s_j - s_i)."""
  losses = []
  for y, s in zip(labels, scores):
    rank = np.empty(len(s), int)
    rank[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
    total = 0.0
    for i in np.flatnonzero(y > 0):
      weight = np.sum(1.0 / np.arange(1, rank[i] + 1))
      for j in np.flatnonzero(y == 0):
        if s[j] > s[i]:
          total += weight * (s[j] - s[i])
    losses.append(total)
  return np.array(losses)


def test_matches_pairwise_definition():
  rng = np.random.default_rng(0)
  scores = rng.normal(size=(4, 30)).astype(np.float32)
  labels = (rng.random((4, 30)) < 0.3).astype(np.float32)
  labels[3] = 0.0  # no relevant item: loss 0
  np.testing.assert_allclose(warp_loss(labels, scores).numpy(),
                             _pairwise_warp(labels, scores), rtol=1e-5, atol=1e-5)


def test_hand_example_and_gradient():
  # Ranking: item 0 (irrelevant, 3.0), item 2 (relevant, 2.0), item 1 (relevant, 1.0).
  scores = tf.constant([[3.0, 1.0, 2.0]])
  labels = tf.constant([[0.0, 1.0, 1.0]])
  with tf.GradientTape() as tape:
    tape.watch(scores)
    loss = warp_loss(labels, scores)
  # item 2 at rank 2: w = 1 + 1/2, pair (0, 2): 1.5 * (3 - 2)
  # item 1 at rank 3: w = 1 + 1/2 + 1/3, pair (0, 1): 11/6 * (3 - 1)
  np.testing.assert_allclose(loss.numpy(), [1.5 + 11.0 / 3.0], rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(tape.gradient(loss, scores).numpy(),
                             [[1.5 + 11.0 / 6.0, -11.0 / 6.0, -1.5]], rtol=1e-6, atol=1e-6)


def test_perfect_ranking_has_zero_loss():
  scores = tf.constant([[5.0, 4.0, 1.0, 0.0]])
  labels = tf.constant([[1.0, 1.0, 0.0, 0.0]])
  assert warp_loss(labels, scores).numpy()[0] == 0.0
