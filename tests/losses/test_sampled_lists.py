"""Sampled candidate lists of whole rows, and a TF-Ranking loss on them."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses import ranking
from tfrankcf.losses.sampled_lists import SampledListLoss

M = 60
SEED = tf.constant([3, 9], tf.int64)


def _rows():
  rng = np.random.default_rng(0)
  labels = np.zeros((5, M), np.float32)
  for row, count in enumerate([3, 10, 0, 25, M - 2]):  # fewer / more than L/2, none, almost all
    labels[row, rng.choice(M, count, replace=False)] = 1.0
  logits = rng.normal(size=(5, M)).astype(np.float32)
  return labels, logits


def test_lists_hold_sampled_positives_then_negatives():
  labels, _ = _rows()
  loss = SampledListLoss(ranking.get("softmax"), list_size=20)
  items = loss.candidates(tf.constant(labels), SEED).numpy()
  assert items.shape == (5, 20)
  for row, list_items in enumerate(items):
    count = int(labels[row].sum())
    positives = min(count, 10)
    head, tail = list_items[:positives], list_items[positives:]
    assert np.all(labels[row, head] == 1.0)
    assert len(set(head)) == positives  # without replacement
    assert np.all(labels[row, tail] == 0.0)  # negatives from the rest
    assert np.all((0 <= list_items) & (list_items < M))
  np.testing.assert_array_equal(items, loss.candidates(tf.constant(labels), SEED).numpy())
  other = loss.candidates(tf.constant(labels), tf.constant([4, 9], tf.int64)).numpy()
  assert not np.array_equal(items, other)


def test_positives_and_negatives_are_uniform():
  labels = np.zeros((1, M), np.float32)
  labels[0, :20] = 1.0
  loss = SampledListLoss(ranking.get("softmax"), list_size=10)
  items = np.concatenate([loss.candidates(tf.constant(labels), tf.constant([s, 0], tf.int64))
                          .numpy() for s in range(400)])
  positive_counts = np.bincount(items[:, :5].ravel(), minlength=M)[:20]
  negative_counts = np.bincount(items[:, 5:].ravel(), minlength=M)[20:]
  assert positive_counts.min() > 0.7 * 100 and positive_counts.max() < 1.3 * 100  # 2000 / 20
  assert negative_counts.min() > 0.6 * 50 and negative_counts.max() < 1.4 * 50  # 2000 / 40


@pytest.mark.parametrize("name", [n for n in ranking.LOSSES if n != "logloss"])
def test_loss_equals_tf_ranking_loss_on_the_explicit_list(name):
  labels, logits = _rows()
  loss = SampledListLoss(ranking.get(name), list_size=20)
  got = loss(tf.constant(labels), tf.constant(logits), seed=SEED).numpy()
  fold = tf.random.experimental.stateless_fold_in
  items = loss.candidates(tf.constant(labels), fold(SEED, 0)).numpy()
  rows = np.arange(5)[:, None]
  want = ranking.get(name)(tf.constant(labels[rows, items]), tf.constant(logits[rows, items]),
                           seed=fold(SEED, 1)).numpy()
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
  assert got.shape == (5,) and np.all(np.isfinite(got))


def test_gradients_reach_only_the_listed_logits():
  labels, logits = _rows()
  loss = SampledListLoss(ranking.get("approx_ndcg"), list_size=8)
  logits = tf.constant(logits)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    total = tf.reduce_sum(loss(tf.constant(labels), logits, seed=SEED))
  gradient = tape.gradient(total, logits).numpy()
  items = loss.candidates(tf.constant(labels),
                          tf.random.experimental.stateless_fold_in(SEED, 0)).numpy()
  for row in range(5):
    outside = np.setdiff1d(np.arange(M), items[row])
    assert np.all(gradient[row, outside] == 0.0)


def test_errors():
  with pytest.raises(InputError, match="at least 2 items"):
    SampledListLoss(ranking.get("softmax"), list_size=1)
  with pytest.raises(ValueError, match="seed"):
    SampledListLoss(ranking.get("softmax"))(tf.ones([1, 3]), tf.ones([1, 3]))
