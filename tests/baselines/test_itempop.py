"""Tests of ItemPop."""

import numpy as np
import scipy.sparse as sp

from tfrankcf.baselines import ItemPop


def test_scores_are_training_popularity_for_every_user():
  train = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0]], np.float32))
  model = ItemPop().fit(train)
  scores = model.score(np.arange(2), train[:2])
  np.testing.assert_array_equal(scores, [[3, 1, 1], [3, 1, 1]])
  np.testing.assert_array_equal(model.score(np.arange(1), train[:1], np.array([[2, 0]])),
                                [[1, 3]])
