"""Tests of EASE against its closed form, of its in-place float32 fit and L2 sweep, and of scoring."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from tfrankcf import datasets
from tfrankcf.baselines import EASE
from tfrankcf.baselines import ease as ease_module
from tfrankcf.errors import InputError
from tfrankcf.metrics import evaluate
from tfrankcf.protocols import make_split
from tfrankcf.protocols.reporting import REPORTING


def _train(seed=0):
  rng = np.random.default_rng(seed)
  return sp.csr_matrix((rng.random((30, 12)) < 0.3).astype(np.float32))


def _reference_weights(train, l2):
  """The textbook EASE in float64: np.linalg.inv of the dense Gram."""
  x = train.toarray().astype(np.float64)
  precision = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
  weights = precision / (-np.diag(precision))
  np.fill_diagonal(weights, 0.0)
  return weights


class _Reference:
  """An object with EASE's `score` over given float64 weights (the reference sweep's model)."""

  def __init__(self, weights):
    self.weights = weights

  def score(self, user_index, history, items=None):
    scores = np.asarray(history.astype(np.float64) @ self.weights)
    return scores if items is None else np.take_along_axis(scores, np.asarray(items), axis=1)


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
                             np.take_along_axis(scores, items, axis=1), rtol=1e-6, atol=1e-7)


def test_precomputed_gram_gives_the_same_model():
  train = _train(2)
  gram = EASE.gram(train)
  np.testing.assert_allclose(EASE(7.0).fit(train, gram=gram).weights,
                             EASE(7.0).fit(train).weights, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype,atol", [("float32", 2e-6), ("float64", 1e-7)])
def test_in_place_fit_equals_the_float64_inverse(dtype, atol):
  rng = np.random.default_rng(3)
  train = sp.csr_matrix((rng.random((400, 150)) < 0.1).astype(np.float32))
  gram = EASE.gram(train, dtype)
  untouched = gram.copy()
  for l2 in (1.0, 20.0, 300.0):
    model = EASE(l2, dtype=dtype).fit(train, gram=gram)
    assert model.weights.dtype == np.float32 and model.weights.flags.c_contiguous
    # |weights| <= ~0.3 here: atol is float32 rounding times the condition number.
    np.testing.assert_allclose(model.weights, _reference_weights(train, l2), rtol=0, atol=atol)
    np.testing.assert_array_equal(gram, untouched)


def test_gram_is_exact_and_built_in_row_blocks(monkeypatch):
  monkeypatch.setattr(ease_module, "GRAM_BLOCK_VALUES", 7 * 150)  # 7 rows per product
  rng = np.random.default_rng(4)
  train = sp.csr_matrix((rng.random((300, 150)) < 0.2) * rng.integers(1, 4, (300, 150)),
                        dtype=np.float64)
  gram = ease_module.gram_matrix(train)
  assert gram.dtype == np.float32 and gram.flags.c_contiguous
  expected = train.toarray().T @ train.toarray()
  np.testing.assert_array_equal(gram, expected.astype(np.float32))
  np.testing.assert_array_equal(ease_module.gram_matrix(train, np.float64), expected)


@pytest.mark.parametrize("n,block", [(1, 4), (9, 4), (12, 4), (37, 8)])
def test_symmetrise_and_scale_mirrors_the_upper_triangle_in_place(n, block):
  rng = np.random.default_rng(n)
  matrix = rng.random((n, n)).astype(np.float32) + np.eye(n, dtype=np.float32)
  upper = np.triu(matrix) + np.triu(matrix, 1).T
  expected = upper / (-np.diag(upper))
  np.fill_diagonal(expected, 0.0)
  address = matrix.__array_interface__["data"][0]
  result = ease_module.symmetrise_and_scale(matrix, block=block)
  assert result is matrix and matrix.__array_interface__["data"][0] == address
  np.testing.assert_array_equal(matrix, expected)


def _peak_allocated(function):
  tracemalloc.start()
  try:
    function()
    return tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()


def test_fit_and_sweep_allocate_one_working_matrix_beyond_the_gram(monkeypatch):
  n = 600
  monkeypatch.setattr(ease_module, "GRAM_BLOCK_VALUES", 60 * n)  # the sparse products' temporary
  rng = np.random.default_rng(5)
  train = sp.csr_matrix((rng.random((2000, n)) < 0.05).astype(np.float32))
  matrix_bytes = n * n * 4
  # Beyond the n x n matrices: X^T (a copy of the data) and one block of the sparse product.
  slack = 2 * (train.data.nbytes + train.indices.nbytes + train.indptr.nbytes) + 0.2 * matrix_bytes
  # No Gram given: the weights are the Gram's own storage (LAPACK in place, no n x n copy).
  assert _peak_allocated(lambda: EASE(50.0).fit(train)) < matrix_bytes + slack
  gram = EASE.gram(train)
  assert _peak_allocated(lambda: EASE(50.0).fit(train, gram=gram)) < 1.1 * matrix_bytes
  out = np.empty_like(gram)
  assert _peak_allocated(lambda: EASE(50.0).fit(train, gram=gram, out=out)) < 0.1 * matrix_bytes
  # The sweep: Gram + working matrix; the best (the first) is refitted, not copied.
  grid = (1.0, 100.0, 1000.0)
  sweep = lambda: ease_module.select_l2(train, grid, lambda m: -m.l2, keep_best_bytes=0)
  assert _peak_allocated(sweep) < 2 * matrix_bytes + slack
  keeping = lambda: ease_module.select_l2(train, grid, lambda m: -m.l2)
  assert _peak_allocated(keeping) > 3 * matrix_bytes  # under the budget it keeps a copy


def _recall_at(k, targets):
  """score_fn of the random-data sweeps: recall@k of held-out `targets` (csr) from train rows."""

  def score(model, history):
    scores = model.score(None, history)
    scores[history.toarray() > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(targets.toarray() > 0, top, axis=1).sum(axis=1)
    return float(np.mean(hits / np.maximum(1, np.minimum(k, targets.getnnz(axis=1)))))

  return score


@pytest.mark.parametrize("keep_best_bytes", [0, ease_module.KEEP_BEST_BYTES])
def test_sweep_matches_the_float64_reference_and_computes_the_gram_once(monkeypatch,
                                                                        keep_best_bytes):
  rng = np.random.default_rng(0)
  groups = rng.integers(0, 8, 500)  # users of 8 tastes, so that a middle L2 value wins
  liked = rng.random((8, 80)) < 0.25
  data = (rng.random((500, 80)) < np.where(liked[groups], 0.5, 0.04)
          * np.linspace(0.3, 1.5, 80)).astype(np.float32)
  mask = rng.random(data.shape) < 0.8
  train, targets = sp.csr_matrix(data * mask), sp.csr_matrix(data * ~mask)
  score = _recall_at(10, targets)
  grid = (0.5, 5.0, 50.0, 500.0, 5000.0)
  reference = [score(_Reference(_reference_weights(train, l2)), train) for l2 in grid]
  grams, solves = [], []
  original_gram, original_solve = ease_module.gram_matrix, ease_module.solve_into
  monkeypatch.setattr(ease_module, "gram_matrix", lambda *a: grams.append(1) or original_gram(*a))
  monkeypatch.setattr(ease_module, "solve_into",
                      lambda g, l2, out: solves.append(l2) or original_solve(g, l2, out))
  model, selection = ease_module.select_l2(train, grid, lambda m: score(m, train),
                                           keep_best_bytes=keep_best_bytes)
  assert len(grams) == 1
  best = int(np.argmax(reference))
  assert 0 < best < len(grid) - 1 and sorted(reference)[-2] < reference[best] - 0.01
  assert model.l2 == grid[best]
  assert [row["l2"] for row in selection] == list(grid)
  np.testing.assert_allclose([row["valid"] for row in selection], reference, rtol=0, atol=1e-6)
  assert all(row["fit_seconds"] >= 0 for row in selection)
  # Refitted (no room for a copy) or kept: the same weights, those of the float64 reference.
  assert solves == list(grid) + ([grid[best]] if keep_best_bytes == 0 else [])
  np.testing.assert_allclose(model.weights, _reference_weights(train, grid[best]), rtol=0,
                             atol=1e-5)
  np.testing.assert_allclose(score(model, train), reference[best], rtol=0, atol=1e-6)


def test_sweep_returns_the_last_fit_without_refitting_and_maximises_a_mapping_key(monkeypatch):
  train = _train(7)
  solves = []
  original_solve = ease_module.solve_into
  monkeypatch.setattr(ease_module, "solve_into",
                      lambda g, l2, out: solves.append(l2) or original_solve(g, l2, out))
  model, selection = ease_module.select_l2(train, (1.0, 2.0, 3.0),
                                           lambda m: {"ndcg": m.l2, "other": -m.l2},
                                           key="ndcg", keep_best_bytes=0)
  assert solves == [1.0, 2.0, 3.0] and model.l2 == 3.0
  assert selection[0]["valid"] == {"ndcg": 1.0, "other": -1.0}
  np.testing.assert_allclose(model.weights, _reference_weights(train, 3.0), rtol=0, atol=1e-6)
  # NaN scores never win; ties keep the earlier value.
  nan_first, _ = ease_module.select_l2(train, (1.0, 2.0), lambda m: np.nan if m.l2 == 1 else 0.0)
  assert nan_first.l2 == 2.0
  tied, _ = ease_module.select_l2(train, (1.0, 2.0, 3.0), lambda m: 0.5)
  assert tied.l2 == 1.0


def test_ml100k_strong_sweep_matches_the_float64_reference():
  loaded = datasets.load_dataset("ml100k")
  split = make_split("strong", loaded.interactions, 0, positive_threshold=loaded.positive_threshold,
                     heldout_users=0.1, **loaded.strong_options)
  reporting = REPORTING["strong"]

  def scored(model):
    return evaluate(model, split.valid, ks=reporting.ks, metric_names=reporting.names).means

  grid = (10.0, 100.0, 500.0, 2000.0)
  reference = [scored(_Reference(_reference_weights(split.train, l2))) for l2 in grid]
  model, selection = ease_module.select_l2(split.train, grid, scored, key=reporting.selection)
  for row, expected in zip(selection, reference):
    for name, value in expected.items():
      assert row["valid"][name] == pytest.approx(value, abs=2e-4), (row["l2"], name)
  values = [row[reporting.selection] for row in reference]
  assert model.l2 == grid[int(np.argmax(values))]
  test_scores = evaluate(model, split.test, ks=reporting.ks, metric_names=reporting.names).means
  expected = evaluate(_Reference(_reference_weights(split.train, model.l2)), split.test,
                      ks=reporting.ks, metric_names=reporting.names).means
  for name, value in expected.items():
    assert test_scores[name] == pytest.approx(value, abs=2e-4), name


def test_bad_parameters_and_a_matrix_that_is_not_positive_definite_are_input_errors():
  with pytest.raises(InputError, match="dtype must be one of float32, float64"):
    EASE(1.0, dtype="float16")
  with pytest.raises(InputError, match="l2 must be positive"):
    EASE(0.0)
  with pytest.raises(InputError, match="grid is empty"):
    ease_module.select_l2(_train(), (), lambda m: 0.0)
  matrix = -np.eye(4, dtype=np.float32)
  with pytest.raises(InputError, match="not positive definite in float32"):
    ease_module.factor_and_invert(matrix)
