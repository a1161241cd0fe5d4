"""Reconstruction terms against numpy and TF-Ranking, XLA, and the registry's error."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses import ranking, reconstruction
from tfrankcf.losses.full_catalogue import FullCatalogueApproxNDCG
from tfrankcf.losses.sampled_lists import SampledListLoss


def _data():
  rng = np.random.default_rng(0)
  return ((rng.random((3, 6)) < 0.5).astype(np.float32),
          rng.normal(size=(3, 6)).astype(np.float32))


def test_multinomial_nll():
  labels, logits = _data()
  log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  np.testing.assert_allclose(reconstruction.multinomial_nll(labels, logits).numpy(),
                             -(labels * log_softmax).sum(1), rtol=1e-5, atol=1e-6)


def test_gaussian_nll_weights_positives():
  labels, logits = _data()
  want = ((1.0 + 2.0 * labels) * (labels - logits) ** 2).sum(1)
  np.testing.assert_allclose(
      reconstruction.gaussian_nll(labels, logits, positive_weight=3.0).numpy(), want,
      rtol=1e-5, atol=1e-6)


def test_unknown_name():
  assert reconstruction.get_reconstruction("warp") is reconstruction.RECONSTRUCTIONS["warp"]
  with pytest.raises(InputError, match="unknown reconstruction loss 'bpr'"):
    reconstruction.get_reconstruction("bpr")


_TERMS = ([(name, "sampled") for name in reconstruction.RECONSTRUCTIONS]
          + [(name, "sampled") for name in reconstruction.LIST_LOSSES] + [("approx_ndcg", "all")])


@pytest.mark.parametrize("name,candidates", _TERMS)
def test_a_term_compiles_with_xla_or_names_its_blocker(name, candidates):
  """--jit_compile either works or is refused up front (run.py reads the blocker)."""
  labels, logits = _data()
  term = reconstruction.get_reconstruction(name, candidates=candidates, list_size=4)
  args = ((tf.constant([1, 2], tf.int64),) if getattr(term, "stochastic", False) else ())

  @tf.function(jit_compile=True)
  def compiled(logits):
    with tf.GradientTape() as tape:
      tape.watch(logits)
      total = tf.reduce_sum(term(labels, logits, *args))
    return tape.gradient(total, logits)

  blocker = getattr(term, "jit_compile_blocker", None)
  if blocker is None:
    assert np.all(np.isfinite(compiled(tf.constant(logits)).numpy()))
  else:
    with pytest.raises(tf.errors.InvalidArgumentError):
      compiled(tf.constant(logits))


@pytest.mark.parametrize("name", ["approx_ndcg", "gumbel_approx_ndcg"])
def test_sampled_approx_ndcg_ranks_only_relevant_items_with_tf_rankings_values(name):
  """The autoencoders' ApproxNDCG terms (B x P x L) equal TF-Ranking's (B x L x L)."""
  rng = np.random.default_rng(5)
  labels = tf.constant((rng.random((6, 40)) < 0.3).astype(np.float32))
  logits = tf.constant(rng.normal(size=(6, 40)).astype(np.float32))
  seed = tf.constant([4, 1], tf.int64)
  term = reconstruction.get_reconstruction(name, list_size=12)
  inner = term.loss if name == "approx_ndcg" else term.loss.list_approx_ndcg
  assert isinstance(inner, FullCatalogueApproxNDCG)
  reference = SampledListLoss(ranking.get(name), list_size=12)
  results = []
  for loss in (term, reference):
    with tf.GradientTape() as tape:
      tape.watch(logits)
      values = loss(labels, logits, seed=seed)
      total = tf.reduce_sum(values * tf.range(1.0, 7.0))
    results.append((values.numpy(), tape.gradient(total, logits).numpy()))
  np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
  np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-5)
  assert np.any(results[0][1] != 0.0)
