"""Tests of EASE against its closed form and of its scoring."""

import numpy as np
import scipy.sparse as sp

from tfrankcf.baselines import EASE


def _train(seed=0):
  rng = np.random.default_rng(seed)
  return sp.csr_matrix((rng.random((30, 12)) < 0.3).astype(np.float32))


def test_weights_solve_the_constrained_least_squares():
  train = _train()
  model = EASE(l2=3.0).fit(train)
  x = train.toarray().astype(np.float64)
  # EASE minimises ||X - XB||^2 + l2 ||B||^2 s.t. diag(B) = 0; its KKT conditions:
  # (X^T X + l2 I) B - X^T X = -diag(mu) for some mu, i.e. off-diagonal residual is zero.
  residual = (x.T @ x + 3.0 * np.eye(12)) @ model.weights - x.T @ x
  off_diagonal = residual - np.diag(np.diag(residual))
  np.testing.assert_allclose(off_diagonal, 0.0, atol=1e-4)
  np.testing.assert_array_equal(np.diag(model.weights), 0.0)


def test_scores_are_history_times_weights_and_gather_candidates():
  train = _train(1)
  model = EASE(l2=10.0).fit(train)
  history = train[:4]
  scores = model.score(np.arange(4), history)
  np.testing.assert_allclose(scores, history.toarray() @ model.weights, rtol=1e-5, atol=1e-7)
  items = np.array([[0, 5], [1, 2], [11, 3], [4, 4]])
  np.testing.assert_allclose(model.score(np.arange(4), history, items),
                             np.take_along_axis(scores, items, axis=1), atol=1e-7)


def test_precomputed_gram_gives_the_same_model():
  train = _train(2)
  gram = EASE.gram(train)
  np.testing.assert_allclose(EASE(7.0).fit(train, gram=gram).weights,
                             EASE(7.0).fit(train).weights, atol=1e-7)
