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
