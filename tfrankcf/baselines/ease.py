"""EASE (Steck, WWW 2019): a closed-form item-item linear model.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1 and a zero diagonal; a
user's scores are their history row times B. It often beats the neural
methods, which is why every comparison in this package includes it.

Memory is what limits it: an n-item catalogue needs n x n matrices (6.8 GB each
in float32 at MSD's 41,140 items). So the fit works in place, in float32 by
default:

* `gram_matrix`: X^T X straight from the sparse matrix into one dense n x n
  array, a block of rows at a time (no dense float64 or sparse n x n copy).
* `EASE.fit`: copies the Gram into one working matrix (or, without a given Gram,
  works in the Gram itself), adds lambda to its diagonal, then a Cholesky
  factorisation and the inverse from the factor (LAPACK's ?potrf and ?potri,
  tiled above 16K items: `spd_inverse`) overwrite it with one triangle of P;
  `symmetrise_and_scale` mirrors it and turns it into B, in place.
* `select_l2`: the L2 sweep on one Gram and one working matrix. The best B is
  kept in a third matrix only while 3 n^2 values fit `keep_best_bytes`
  (default 8 GiB: up to ~25K items in float32); above, the sweep remembers the
  best lambda and refits it at the end unless it was the last one, at the cost
  of one more fit. Peak memory: 2 n^2 values plus the data.

`dtype="float64"` factors in float64 (for small catalogues where float32's
rounding changes the selection; 2x the memory); the weights are float32 either
way, which is what scoring and the SavedModel use.
"""

import logging
import time
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.baselines import spd_inverse
from tfrankcf.errors import InputError

DTYPES = ("float32", "float64")
# The sweep keeps a copy of the best weights while 3 n^2 values fit in this many bytes.
KEEP_BEST_BYTES = 8 * 2**30
# Rows of X^T X computed per sparse product (bounds the product's temporary to ~256 MB).
GRAM_BLOCK_VALUES = 2**25
# Block side of the in-place symmetrisation (a block pair fits in L2 cache).
SYMMETRISE_BLOCK = 512

def checked_dtype(dtype) -> str:
  """'float32' or 'float64' from a name or numpy dtype; anything else is an InputError."""
  try:
    name = np.dtype(dtype).name
  except TypeError:
    name = str(dtype)
  if name not in DTYPES:
    raise InputError(f"EASE dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
  return name


def gram_matrix(train: sp.spmatrix, dtype="float32") -> np.ndarray:
  """X^T X as one dense C-ordered [n, n] array of `dtype`, built a block of rows at a time."""
  dtype = checked_dtype(dtype)
  x = sp.csr_matrix(train, dtype=dtype)
  x_t = x.T.tocsr()
  n = x.shape[1]
  gram = np.empty((n, n), dtype)
  rows = max(1, GRAM_BLOCK_VALUES // max(n, 1))
  for start in range(0, n, rows):
    stop = min(start + rows, n)
    (x_t[start:stop] @ x).toarray(out=gram[start:stop])
  return gram


def factor_and_invert(matrix: np.ndarray) -> np.ndarray:
  """Overwrites the SPD C-ordered `matrix` with its inverse's upper triangle, in place.

  The C-ordered upper triangle is the Fortran-ordered lower one that
  `spd_inverse.invert_lower` (?potrf, then ?potri's ?trtri + ?lauum) sees through
  `matrix.T`; the strict lower triangle is scratch.
  """
  checked_dtype(matrix.dtype)
  if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not matrix.flags.c_contiguous:
    raise ValueError("factor_and_invert needs a square C-contiguous matrix")
  info = spd_inverse.invert_lower(matrix.T)
  if info:
    raise InputError(f"EASE: X^T X + l2 I is not positive definite in {matrix.dtype} "
                     f"(Cholesky failed at column {info}); use a larger l2 or dtype float64")
  return matrix


def symmetrise_and_scale(matrix: np.ndarray, block: int | None = None) -> np.ndarray:
  """Turns P's upper triangle in `matrix` into B = -P / diag(P) with a zero diagonal, in place.

  Row block I is complete once the blocks below its diagonal block have been
  mirrored from it, so it is scaled right away; no temporary exceeds one block.
  """
  n = matrix.shape[0]
  block = block or SYMMETRISE_BLOCK
  scale = -np.diagonal(matrix).copy()
  for start in range(0, n, block):
    stop = min(start + block, n)
    for row in range(start, stop - 1):  # the diagonal block, a row at a time
      matrix[row + 1:stop, row] = matrix[row, row + 1:stop]
    for column in range(stop, n, block):
      end = min(column + block, n)
      matrix[column:end, start:stop] = matrix[start:stop, column:end].T
    rows = matrix[start:stop]
    np.divide(rows, scale, out=rows)
  np.fill_diagonal(matrix, 0.0)
  return matrix


def solve_into(gram: np.ndarray, l2: float, out: np.ndarray) -> np.ndarray:
  """B for `l2` written into `out` (which may be `gram` itself, then consumed)."""
  if out is not gram:
    np.copyto(out, gram)
  out.ravel()[::out.shape[0] + 1] += out.dtype.type(l2)
  return symmetrise_and_scale(factor_and_invert(out))


class EASE:
  """EASE with L2 weight `l2` (the paper's lambda), factored in `dtype`."""

  name = "ease"

  def __init__(self, l2: float = 500.0, dtype="float32"):
    self.l2 = float(l2)
    if not self.l2 > 0:
      raise InputError(f"EASE's l2 must be positive, got {l2}")
    self.dtype = checked_dtype(dtype)

  def fit(self, train: sp.spmatrix, gram: np.ndarray | None = None,
          out: np.ndarray | None = None) -> "EASE":
    """Fits on `train`; pass a precomputed `gram` = X^T X to sweep lambdas cheaply.

    Without `gram` the Gram matrix itself becomes the weights (one n x n matrix);
    with it, `gram` is left intact and the weights go to `out` (a C-ordered n x n
    array of the fit's dtype) or to a new array.
    """
    if gram is None:
      work = gram_matrix(train, self.dtype)
      gram = work
    elif out is not None:
      if out.shape != gram.shape or not out.flags.c_contiguous or out.dtype != self.dtype:
        raise ValueError(f"out must be a C-contiguous {gram.shape} {self.dtype} array")
      work = out
    else:
      work = np.empty(gram.shape, self.dtype)
    start = time.perf_counter()
    weights = solve_into(gram, self.l2, work)
    self.weights = weights if weights.dtype == np.float32 else weights.astype(np.float32)
    self.fit_seconds = time.perf_counter() - start
    return self

  @staticmethod
  def gram(train: sp.spmatrix, dtype="float32") -> np.ndarray:
    return gram_matrix(train, dtype)

  def score(self, user_index, history: sp.csr_matrix, items=None) -> np.ndarray:
    scores = np.asarray(history.astype(np.float32) @ self.weights)
    if items is not None:
      return np.take_along_axis(scores, np.asarray(items), axis=1)
    return scores

  def serving_scorer(self) -> tf.Module:
    """The SavedModel's scorer (`tfrankcf.serving.export`): history rows times the weights."""
    return _EASEScorer(self.weights)


class _EASEScorer(tf.Module):
  """EASE in a SavedModel: history rows [B, M] times the item-item weights [M, M]."""

  uses_user_id = False

  def __init__(self, weights: np.ndarray):
    super().__init__()
    self.weights = tf.Variable(weights, trainable=False, name="ease_weights")

  def __call__(self, user_index, history):
    del user_index
    return tf.matmul(history, self.weights)


def select_l2(train: sp.spmatrix, grid: Sequence[float], score_fn: Callable, key: str | None = None,
              dtype="float32", keep_best_bytes: int = KEEP_BEST_BYTES,
              gram: np.ndarray | None = None) -> tuple:
  """Fits EASE for every L2 value of `grid` and returns the best on `score_fn`, and the sweep.

  Args:
    train: the [users, items] training matrix.
    grid: the L2 values, tried in order; ties keep the earlier value.
    score_fn: model -> validation value (a float, or a mapping whose `key` entry is
      maximised). The model it gets is valid only during the call: the next fit
      overwrites its weights.
    key: the entry of score_fn's mapping to maximise (None: score_fn returns a float).
    dtype: "float32" (default) or "float64" for the factorisation.
    keep_best_bytes: keep a copy of the best weights while 3 n^2 values fit in this
      many bytes; otherwise refit the best L2 value at the end (unless it was the last).
    gram: X^T X when the caller has it (left intact); computed once otherwise.

  Returns:
    (model, selection): the fitted best EASE and [{"l2", "valid", "fit_seconds"}]
    per grid value, `valid` being what score_fn returned.
  """
  dtype = checked_dtype(dtype)
  if not grid:
    raise InputError("EASE's L2 grid is empty")
  if gram is None:
    gram = gram_matrix(train, dtype)
  n = gram.shape[0]
  work = np.empty((n, n), dtype)
  # float64 weights are float32 copies, separate from the working matrix: nothing to refit.
  keep = dtype == "float64" or 3 * n * n * np.dtype(dtype).itemsize <= keep_best_bytes
  selection, best, best_value, kept = [], None, -np.inf, None
  for index, l2 in enumerate(grid):
    model = EASE(l2, dtype).fit(train, gram=gram, out=work)
    returned = score_fn(model)
    value = float(returned if key is None else returned[key])
    selection.append({"l2": model.l2, "valid": returned, "fit_seconds": model.fit_seconds})
    logging.info("ease l2 %g: valid %s %.4f (fit %.1f s)", model.l2, key or "score", value,
                 model.fit_seconds)
    if best is None or value > best_value:  # NaN never wins over a number
      best, best_value = index, (-np.inf if np.isnan(value) else value)
      if keep and index < len(grid) - 1:
        if model.weights is not work:
          kept = model.weights
        elif kept is None:
          kept = work.copy()
        else:
          np.copyto(kept, work)
  if best == len(grid) - 1:
    return model, selection
  if keep:
    model = EASE(grid[best], dtype)
    model.weights, model.fit_seconds = kept, selection[best]["fit_seconds"]
    return model, selection
  logging.info("ease: refitting the best l2 %g (no room for a copy of its weights)", grid[best])
  return EASE(grid[best], dtype).fit(train, gram=gram, out=work), selection
