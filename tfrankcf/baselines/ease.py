"""EASE (Steck, WWW 2019): a closed-form item-item linear model.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1 and a zero diagonal; a
user's scores are their history row times B. It often beats the neural
methods, which is why every comparison in this package includes it.
"""

import numpy as np
import scipy.sparse as sp

# float64 keeps the inverse exact on small catalogues; above this many items
# the Gram matrix is inverted in float32 to halve memory and time.
FLOAT64_MAX_ITEMS = 10_000


class EASE:
  """EASE with L2 weight `l2` (the paper's lambda)."""

  name = "ease"

  def __init__(self, l2: float = 500.0):
    self.l2 = float(l2)

  def fit(self, train: sp.csr_matrix, gram: np.ndarray | None = None) -> "EASE":
    """Fits on `train`; pass a precomputed `gram` = X^T X to sweep lambdas cheaply."""
    if gram is None:
      gram = self.gram(train)
    matrix = gram.copy()
    matrix[np.diag_indices_from(matrix)] += self.l2
    precision = np.linalg.inv(matrix)
    weights = precision / (-np.diag(precision))
    weights[np.diag_indices_from(weights)] = 0.0
    self.weights = weights.astype(np.float32)
    return self

  @staticmethod
  def gram(train: sp.csr_matrix) -> np.ndarray:
    dtype = np.float64 if train.shape[1] <= FLOAT64_MAX_ITEMS else np.float32
    return np.asarray((train.T @ train).toarray(), dtype)

  def score(self, user_index, history: sp.csr_matrix, items=None) -> np.ndarray:
    scores = np.asarray(history.astype(np.float32) @ self.weights)
    if items is not None:
      return np.take_along_axis(scores, np.asarray(items), axis=1)
    return scores
