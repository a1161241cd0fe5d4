"""ItemPop: every user gets the items ranked by their number of training users."""

import numpy as np
import scipy.sparse as sp


class ItemPop:
  """Scores each item by its popularity in the training matrix (no personalisation)."""

  name = "itempop"

  def fit(self, train: sp.csr_matrix) -> "ItemPop":
    self.popularity = np.asarray(train.sum(axis=0), np.float32).ravel()
    return self

  def score(self, user_index, history: sp.csr_matrix, items=None) -> np.ndarray:
    if items is not None:
      return self.popularity[np.asarray(items)]
    return np.broadcast_to(self.popularity, (history.shape[0], len(self.popularity))).copy()
