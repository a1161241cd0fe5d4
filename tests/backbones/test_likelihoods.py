"""Reconstruction terms against numpy, and the registry's error."""

import numpy as np
import pytest

from tfrankcf.backbones import likelihoods
from tfrankcf.errors import InputError


def _data():
  rng = np.random.default_rng(0)
  return ((rng.random((3, 6)) < 0.5).astype(np.float32),
          rng.normal(size=(3, 6)).astype(np.float32))


def test_multinomial_nll():
  labels, logits = _data()
  log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  np.testing.assert_allclose(likelihoods.multinomial_nll(labels, logits).numpy(),
                             -(labels * log_softmax).sum(1), rtol=1e-5)


def test_gaussian_nll_weights_positives():
  labels, logits = _data()
  want = ((1.0 + 2.0 * labels) * (labels - logits) ** 2).sum(1)
  np.testing.assert_allclose(
      likelihoods.gaussian_nll(labels, logits, positive_weight=3.0).numpy(), want,
      rtol=1e-5)


def test_unknown_name():
  assert likelihoods.get_reconstruction("warp") is likelihoods.RECONSTRUCTIONS["warp"]
  with pytest.raises(InputError, match="unknown reconstruction loss 'bpr'"):
    likelihoods.get_reconstruction("bpr")


_TERMS = ([(name, "sampled") for name in likelihoods.RECONSTRUCTIONS]
          + [(name, "sampled") for name in likelihoods.LIST_LOSSES] + [("approx_ndcg", "all")])


@pytest.mark.parametrize("name,candidates", _TERMS)
def test_a_term_compiles_with_xla_or_names_its_blocker(name, candidates):
  """--jit_compile either works or is refused up front (run.py reads the blocker)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  labels, logits = _data()
  term = likelihoods.get_reconstruction(name, candidates=candidates, list_size=4)
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
