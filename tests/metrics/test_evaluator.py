"""Tests of the batched evaluator on hand-made evaluation sets."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet


class FixedScorer:
  """Returns rows of a fixed score matrix, recording what it was asked."""

  def __init__(self, scores):
    self.scores = np.asarray(scores, np.float32)
    self.calls = []

  def score(self, user_index, history, items=None):
    self.calls.append((np.array(user_index), items is not None))
    rows = self.scores[user_index]
    return rows if items is None else np.take_along_axis(rows, items, axis=1)


def _csr(rows, num_items=5):
  dense = np.zeros((len(rows), num_items), np.float32)
  for r, items in enumerate(rows):
    dense[r, items] = 1
  return sp.csr_matrix(dense)


def test_full_ranking_excludes_history():
  scores = [[0.9, 0.8, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5]]
  eval_set = EvalSet(user_index=np.array([0, 1]), inputs=_csr([[0], [4]]),
                     targets=_csr([[1], [3]]), exclude=_csr([[0], [4]]))
  result = evaluate(FixedScorer(scores), eval_set, ks=(1,), metric_names=("hr",))
  # Excluding the top-scored history item puts each target first.
  np.testing.assert_array_equal(result.per_user["hr@1"], [1.0, 1.0])
  unexcluded = EvalSet(user_index=np.array([0, 1]), inputs=_csr([[0], [4]]),
                       targets=_csr([[1], [3]]), exclude=_csr([[], []]))
  assert evaluate(FixedScorer(scores), unexcluded, ks=(1,)).means["hr@1"] == 0.0


def test_candidates_rank_only_among_candidates():
  scores = [[0.9, 0.5, 0.8, 0.2, 0.1]]
  eval_set = EvalSet(user_index=np.array([0]), inputs=_csr([[4]]), targets=_csr([[1]]),
                     exclude=_csr([[4]]), candidates=np.array([[1, 3, 4]]))
  scorer = FixedScorer(scores)
  result = evaluate(scorer, eval_set, ks=(1, 2), metric_names=("hr", "ndcg"))
  assert scorer.calls[0][1]  # asked for candidate scores
  # Item 1 (0.5) beats 3 (0.2); 4 is excluded; items 0 and 2 are not candidates.
  assert result.means["hr@1"] == 1.0 and result.means["ndcg@2"] == 1.0


def test_batched_equals_unbatched_and_users_without_targets():
  rng = np.random.default_rng(0)
  scores = rng.normal(size=(23, 40))
  targets = sp.csr_matrix((rng.random((23, 40)) < 0.1).astype(np.float32))
  history = sp.csr_matrix((rng.random((23, 40)) < 0.2).astype(np.float32))
  history = history - history.multiply(targets)
  eval_set = EvalSet(user_index=np.arange(23), inputs=history, targets=targets,
                     exclude=history)
  one = evaluate(FixedScorer(scores), eval_set, ks=(5, 10), batch_size=1)
  many = evaluate(FixedScorer(scores), eval_set, ks=(5, 10), batch_size=1000)
  for key in one.per_user:
    np.testing.assert_array_equal(one.per_user[key], many.per_user[key])
  without = int(np.sum(np.diff(targets.indptr) == 0))
  assert one.users_without_targets == without
  assert np.sum(np.isnan(one.per_user["ndcg@5"])) == without
  assert one.means["ndcg@5"] == pytest.approx(np.nanmean(one.per_user["ndcg@5"]))


def test_scorer_array_is_not_mutated():
  scores = np.array([[0.9, 0.8, 0.1, 0.2, 0.3]], np.float32)
  scorer = FixedScorer(scores)
  eval_set = EvalSet(user_index=np.array([0]), inputs=_csr([[0]]), targets=_csr([[1]]),
                     exclude=_csr([[0]]))
  evaluate(scorer, eval_set, ks=(1,))
  assert scorer.scores[0, 0] == np.float32(0.9)
