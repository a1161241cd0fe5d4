"""LambdaRank: value and gradient equal a numpy pairwise reference."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.losses.lambdarank import lambdarank_loss


def _reference(labels, scores):
  """Loss and the LambdaRank gradient by explicit loops over pairs."""
  losses, grads = [], np.zeros_like(scores, dtype=np.float64)
  for u, (y, s) in enumerate(zip(labels, scores)):
    rank = np.empty(len(s), int)
    rank[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
    discount = 1.0 / np.log2(1.0 + rank)
    relevant = np.flatnonzero(y > 0)
    if not len(relevant):
      losses.append(0.0)
      continue
    idcg = np.sum(1.0 / np.log2(np.arange(2, len(relevant) + 2)))
    total = 0.0
    for i in relevant:
      for j in np.flatnonzero(y == 0):
        weight = abs(discount[i] - discount[j]) / idcg
        total += weight * np.log1p(np.exp(s[j] - s[i]))
        lam = weight / (1.0 + np.exp(s[i] - s[j]))
        grads[u, i] -= lam
        grads[u, j] += lam
    losses.append(total)
  return np.array(losses), grads


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_matches_reference(chunk_size):
  rng = np.random.default_rng(1)
  scores = rng.normal(size=(3, 20)).astype(np.float32)
  labels = (rng.random((3, 20)) < 0.35).astype(np.float32)
  labels[2] = 0.0
  scores_t = tf.constant(scores)
  with tf.GradientTape() as tape:
    tape.watch(scores_t)
    loss = lambdarank_loss(labels, scores_t, chunk_size=chunk_size)
    total = tf.reduce_sum(loss * tf.constant([1.0, 2.0, 1.0]))
  want_loss, want_grad = _reference(labels, scores)
  np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(tape.gradient(total, scores_t).numpy(),
                             want_grad * np.array([[1.0], [2.0], [1.0]]),
                             rtol=1e-5, atol=1e-6)


def test_inside_tf_function():
  labels = tf.constant([[1.0, 0.0, 0.0, 1.0]])
  scores = tf.constant([[0.0, 2.0, 1.0, 3.0]])
  eager = lambdarank_loss(labels, scores, chunk_size=1)
  graph = tf.function(lambda y, s: lambdarank_loss(y, s, chunk_size=1))(labels, scores)
  np.testing.assert_allclose(graph.numpy(), eager.numpy(), rtol=1e-5, atol=1e-6)
