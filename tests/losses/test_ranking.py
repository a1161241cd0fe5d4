"""Per-list ranking losses against values worked out in numpy from their definitions."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_ranking as tfr
from tensorflow_ranking.python import losses_impl

from tfrankcf.errors import InputError
from tfrankcf.losses import ranking

LABELS = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]], np.float32)
LOGITS = np.array([[0.5, 1.0, -0.3, 0.2], [0.1, 0.2, 0.3, -1.0]], np.float32)
SEED = tf.constant([4, 2], tf.int64)


def _loss(name, labels=LABELS, logits=LOGITS, seed=SEED, **options):
  return ranking.get(name, **options)(tf.constant(labels), tf.constant(logits), seed=seed).numpy()


def _log_softmax(x):
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _approx_ndcg(labels, logits, temperature):
  """-NDCG with rank_i = 1/2 + sum_j sigmoid((s_j - s_i) / T), gains 2^y - 1."""
  s = logits / temperature
  ranks = 0.5 + (1 / (1 + np.exp(-(s[:, None, :] - s[:, :, None])))).sum(-1)
  gains = 2 ** labels - 1
  dcg = (gains / np.log2(1 + ranks)).sum(-1)
  ideal = np.sort(gains, -1)[:, ::-1]
  ideal_dcg = (ideal / np.log2(np.arange(2, labels.shape[1] + 2))).sum(-1)
  return -dcg / ideal_dcg


def _neural_sort(s, temperature=1.0):
  """P[i, k] = softmax_k(((n + 1 - 2i) s_k - sum_j |s_k - s_j|) / T), i = 1..n."""
  n = s.shape[-1]
  scaling = (n + 1 - 2 * np.arange(1, n + 1))[:, None]
  logits = (scaling * s[None, :] - np.abs(s[:, None] - s[None, :]).sum(0)[None, :]) / temperature
  return np.exp(_log_softmax(logits))


def test_logloss():
  sig = 1 / (1 + np.exp(-LOGITS))
  expected = -(LABELS * np.log(sig) + (1 - LABELS) * np.log(1 - sig)).sum(1)
  np.testing.assert_allclose(_loss("logloss"), expected, rtol=1e-5, atol=1e-6)


def test_softmax_is_cross_entropy_weighted_by_the_number_of_relevant_items():
  expected = -(LABELS * _log_softmax(LOGITS)).sum(1)  # = (-sum y/|y| log p) * |y|
  np.testing.assert_allclose(_loss("softmax"), expected, rtol=1e-5, atol=1e-6)


def test_pairwise_logistic_sums_over_ordered_pairs():
  expected = []
  for y, s in zip(LABELS, LOGITS):
    expected.append(sum(np.log1p(np.exp(-(s[i] - s[j])))
                        for i in range(4) for j in range(4) if y[i] > y[j]))
  np.testing.assert_allclose(_loss("pairwise_logistic"), expected, rtol=1e-5, atol=1e-6)


def test_approx_ndcg():
  np.testing.assert_allclose(_loss("approx_ndcg"), _approx_ndcg(LABELS, LOGITS, 0.1),
                             rtol=1e-5, atol=1e-6)


def test_listmle_with_graded_labels_and_seeded_ties():
  labels = np.array([[0.0, 2.0, 1.0, 3.0]], np.float32)
  logits = np.array([[0.3, -0.2, 0.9, 0.1]], np.float32)
  ordered = logits[0][np.argsort(-labels[0])]
  expected = sum(np.log(np.exp(ordered[k:]).sum()) - ordered[k] for k in range(4))
  np.testing.assert_allclose(_loss("listmle", labels, logits), [expected], rtol=1e-5, atol=1e-6)
  # binary labels: the positives' order is the tie break, a function of the seed
  labels = np.array([[1.0, 0.0, 1.0, 1.0]], np.float32)

  def nll(order):
    ordered = logits[0][list(order)]
    return sum(np.log(np.exp(ordered[k:]).sum()) - ordered[k] for k in range(4))

  candidates = [nll(p + (1,)) for p in ((0, 2, 3), (0, 3, 2), (2, 0, 3), (2, 3, 0),
                                        (3, 0, 2), (3, 2, 0))]
  values = [float(_loss("listmle", labels, logits, seed=tf.constant([s, 0], tf.int64))[0])
            for s in range(12)]
  assert all(min(abs(v - c) for c in candidates) < 1e-5 for v in values)
  assert len({round(v, 5) for v in values}) > 1  # ties really broken at random
  again = _loss("listmle", labels, logits, seed=tf.constant([3, 0], tf.int64))[0]
  assert abs(again - values[3]) < 1e-7


def test_neural_sort_cross_entropy():
  expected = []
  for y, s in zip(LABELS, LOGITS):
    true, smooth = _neural_sort(y), _neural_sort(s)
    expected.append(-(true * np.log(1e-20 + smooth)).sum(-1).mean())
  np.testing.assert_allclose(_loss("neural_sort"), expected, rtol=1e-5, atol=1e-6)


def test_neural_sort_matches_tf_ranking_v1():
  rng = np.random.default_rng(0)
  labels = (rng.random((6, 10)) < 0.5).astype(np.float32)
  labels[:, 0] = 1.0
  logits = rng.normal(size=(6, 10)).astype(np.float32)
  v1 = tfr.losses.make_loss_fn("neural_sort_cross_entropy_loss")(
      tf.constant(labels), tf.constant(logits), None)  # SUM_BY_NONZERO_WEIGHTS
  np.testing.assert_allclose(_loss("neural_sort", labels, logits).mean(), v1.numpy(),
                             rtol=1e-5, atol=1e-6)


def _value_and_gradient(loss, labels, logits):
  logits = tf.constant(logits)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    value = loss(tf.constant(labels), logits)
    total = tf.reduce_sum(value)
  return value.numpy(), tape.gradient(total, logits).numpy()


@pytest.mark.parametrize("graded", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_neural_sort_equals_losses_impl_in_value_and_gradient(padded, graded):
  rng = np.random.default_rng(2)
  labels = (rng.random((5, 30)) < 0.3).astype(np.float32)
  labels[:, 0] = 1.0
  labels[4] = 0.0  # a list without a relevant item weighs 0
  if graded:  # the labels' own NeuralSort matrix, not the binary closed form
    labels *= rng.integers(1, 4, labels.shape)
  if padded:
    labels[:2, -4:] = -1.0
    labels[2, 3] = labels[2, 7] = -1.0  # padding inside the list too
  logits = rng.normal(size=(5, 30)).astype(np.float32)
  reference = losses_impl.NeuralSortCrossEntropyLoss("reference", temperature=0.7)

  def expected(labels, logits):
    losses, weights = reference.compute_unreduced_loss(labels, reference.get_logits(logits))
    return tf.reshape(losses * weights, [-1])

  value, gradient = _value_and_gradient(ranking.get("neural_sort", temperature=0.7),
                                        labels, logits)
  reference_value, reference_gradient = _value_and_gradient(expected, labels, logits)
  np.testing.assert_allclose(value, reference_value, rtol=1e-5, atol=1e-6)
  # gradients near 0 are sums of 30 terms ~1: 1e-6 was 1 ulp of slack
  np.testing.assert_allclose(gradient, reference_gradient, rtol=1e-4, atol=1e-5)
  assert value[4] == 0.0


def test_neural_sort_edge_lists_equal_losses_impl():
  """A list of padding only, one without and one with only relevant items: TF-Ranking's
  values and (finite) gradients, not NaNs from the closed form's log(0)."""
  labels = np.array([[1, 0, 1, 0], [-1, -1, -1, -1], [0, 0, 0, 0], [1, 1, 1, 1]], np.float32)
  logits = np.random.default_rng(4).normal(size=(4, 4)).astype(np.float32)
  reference = ranking.TFRankingLoss(losses_impl.NeuralSortCrossEntropyLoss("reference"))
  value, gradient = _value_and_gradient(ranking.get("neural_sort"), labels, logits)
  reference_value, reference_gradient = _value_and_gradient(reference, labels, logits)
  np.testing.assert_allclose(value, reference_value, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(gradient, reference_gradient, rtol=1e-4, atol=1e-6)
  assert np.all(np.isfinite(gradient)) and value[1] == value[2] == 0.0


@pytest.mark.parametrize("labels_kind", ["binary", "binary_padded", "graded", "no_relevant"])
def test_pairwise_logistic_equals_losses_impl_in_value_and_gradient(labels_kind):
  rng = np.random.default_rng(3)
  labels = (rng.random((4, 12)) < 0.4).astype(np.float32)
  if labels_kind == "binary_padded":
    labels[1, -5:] = -1.0
  elif labels_kind == "graded":
    labels *= rng.integers(1, 4, labels.shape)
  elif labels_kind == "no_relevant":
    labels[2] = 0.0
  logits = rng.normal(size=(4, 12)).astype(np.float32)
  reference = losses_impl.PairwiseLogisticLoss("reference", temperature=0.5)

  def expected(labels, logits):
    losses, weights = reference.compute_unreduced_loss(labels, reference.get_logits(logits))
    return tf.reduce_sum(losses * weights, axis=[1, 2])

  value, gradient = _value_and_gradient(ranking.get("pairwise_logistic", temperature=0.5),
                                        labels, logits)
  reference_value, reference_gradient = _value_and_gradient(expected, labels, logits)
  np.testing.assert_allclose(value, reference_value, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(gradient, reference_gradient, rtol=1e-5, atol=1e-6)


def test_gumbel_approx_ndcg_from_its_seeded_noise():
  samples = 3
  uniform = tf.random.stateless_uniform([2, samples, 4], SEED).numpy()
  gumbel = -np.log(-np.log(uniform + 1e-20) + 1e-20)
  sampled = np.log(np.exp(_log_softmax(LOGITS[:, None] + gumbel)) + 1e-20)
  per_sample = _approx_ndcg(np.repeat(LABELS, samples, 0), sampled.reshape(-1, 4), 0.1)
  expected = per_sample.reshape(2, samples).mean(1)
  np.testing.assert_allclose(_loss("gumbel_approx_ndcg", sample_size=samples), expected,
                             rtol=1e-4, atol=1e-6)
  other = _loss("gumbel_approx_ndcg", sample_size=samples, seed=tf.constant([5, 2], tf.int64))
  assert not np.allclose(other, expected, atol=1e-6)


def test_lists_of_any_length_and_padding():
  rng = np.random.default_rng(1)
  labels = (rng.random((3, 100)) < 0.1).astype(np.float32)
  labels[:, 0] = 1.0
  logits = rng.normal(size=(3, 100)).astype(np.float32)
  for name in ranking.LOSSES:
    assert _loss(name, labels, logits).shape == (3,)
  padded_labels = np.concatenate([LABELS, -np.ones((2, 3), np.float32)], 1)
  padded_logits = np.concatenate([LOGITS, np.full((2, 3), 7.0, np.float32)], 1)
  for name in ("logloss", "softmax", "pairwise_logistic", "approx_ndcg"):
    np.testing.assert_allclose(_loss(name, padded_labels, padded_logits), _loss(name),
                               rtol=1e-5, atol=1e-6, err_msg=name)


def test_factory_errors():
  with pytest.raises(InputError, match="listmle, approx_ndcg"):
    ranking.get("lambdamart")
  with pytest.raises(ValueError, match="seed"):
    ranking.get("gumbel_approx_ndcg")(LABELS, LOGITS)


@pytest.mark.parametrize("name", list(ranking.LOSSES))
def test_every_loss_and_its_gradient_compile_with_xla(name):
  """The GuidedRec flagfiles run the losses under --jit_compile."""
  rng = np.random.default_rng(4)
  labels = tf.constant((rng.random((3, 10)) < 0.5).astype(np.float32))
  logits = tf.constant(rng.normal(size=(3, 10)).astype(np.float32))
  loss = ranking.get(name)

  @tf.function(jit_compile=True)
  def compiled(logits):
    with tf.GradientTape() as tape:
      tape.watch(logits)
      total = tf.reduce_sum(loss(labels, logits, seed=SEED))
    return total, tape.gradient(total, logits)

  total, gradient = compiled(logits)
  assert np.isfinite(total.numpy()) and np.all(np.isfinite(gradient.numpy()))
  if not loss.stochastic:  # XLA's stateless random streams differ from the CPU kernels'
    np.testing.assert_allclose(total.numpy(),
                               _loss(name, labels.numpy(), logits.numpy()).sum(), rtol=1e-4,
                               atol=1e-5)
