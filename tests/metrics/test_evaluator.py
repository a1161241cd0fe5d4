"""Tests of the batched evaluator on hand-made evaluation sets."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfrankcf.metrics import evaluate, rank_metrics
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.protocols.split import EvalSet

D = 1.0 / np.log2(np.arange(2, 12))


class FixedScorer:
  """Returns rows of a fixed [users, items] score matrix, recording its calls."""

  def __init__(self, scores):
    self.scores = np.asarray(scores, np.float32)
    self.calls = []

  def score(self, user_index, history, items=None):
    self.calls.append((np.array(user_index), None if items is None else np.array(items)))
    rows = self.scores[user_index]  # a view would be mutated by a careless evaluator
    return rows if items is None else np.take_along_axis(rows, items, axis=1)


def _csr(rows, num_items=5):
  """csr [len(rows), num_items] with ones at the listed items of each row."""
  indptr = np.cumsum([0] + [len(r) for r in rows])
  indices = np.array([i for r in rows for i in r], np.int32)
  return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                       shape=(len(rows), num_items))


def test_full_ranking_excludes_history():
  scores = [[0.9, 0.8, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5]]
  eval_set = EvalSet(user_index=np.array([0, 1]), inputs=_csr([[0], [4]]),
                     targets=_csr([[1], [3]]), exclude=_csr([[0], [4]]))
  scorer = FixedScorer(scores)
  result = evaluate(scorer, eval_set, ks=(1, 2), metric_names=("hr", "ndcg"))
  assert scorer.calls[0][1] is None  # full ranking: no candidate list
  # With its top history item excluded, each user's target ranks first.
  np.testing.assert_array_equal(result.per_user["hr@1"], [1.0, 1.0])
  assert result.means == {"hr@1": 1.0, "hr@2": 1.0, "ndcg@1": 1.0, "ndcg@2": 1.0}
  not_excluded = EvalSet(user_index=np.array([0, 1]), inputs=_csr([[0], [4]]),
                         targets=_csr([[1], [3]]), exclude=_csr([[], []]))
  result = evaluate(FixedScorer(scores), not_excluded, ks=(1, 2), metric_names=("ndcg",))
  np.testing.assert_allclose(result.per_user["ndcg@2"], [D[1], D[1]], atol=1e-12)
  assert result.means["ndcg@1"] == 0.0


def test_scorer_array_is_not_mutated():
  scorer = FixedScorer([[0.9, 0.8, 0.1, 0.2, 0.3]])
  eval_set = EvalSet(user_index=np.array([0]), inputs=_csr([[0]]), targets=_csr([[1]]),
                     exclude=_csr([[0]]))
  evaluate(scorer, eval_set, ks=(1,))
  assert scorer.scores[0, 0] == np.float32(0.9)


def test_candidates_rank_only_among_candidates():
  scores = [[0.9, 0.5, 0.8, 0.2, 0.6], [0.1, 0.2, 0.3, 0.4, 0.5]]
  # User 0: target 1 among candidates (1, 3, 4); item 4 (0.6) is excluded, items
  # 0 and 2 score higher but are not candidates. User 1: target 0 ranks last of 3.
  eval_set = EvalSet(user_index=np.array([0, 1]), inputs=_csr([[4], [2]]),
                     targets=_csr([[1], [0]]), exclude=_csr([[4], [2]]),
                     candidates=np.array([[1, 3, 4], [0, 3, 4]]))
  scorer = FixedScorer(scores)
  result = evaluate(scorer, eval_set, ks=(1, 3), metric_names=("hr", "ndcg", "recall"))
  np.testing.assert_array_equal(scorer.calls[0][1], eval_set.candidates)
  np.testing.assert_array_equal(result.per_user["hr@1"], [1.0, 0.0])
  np.testing.assert_allclose(result.per_user["ndcg@3"], [1.0, D[2]], atol=1e-12)
  np.testing.assert_array_equal(result.per_user["recall@3"], [1.0, 1.0])
  assert result.means["ndcg@3"] == pytest.approx((1.0 + D[2]) / 2, abs=1e-12)


def test_constant_scorer_scores_zero_on_sampled_candidates():
  eval_set = EvalSet(user_index=np.array([0]), inputs=_csr([[]]), targets=_csr([[0]]),
                     exclude=_csr([[]]), candidates=np.array([[0, 1, 2, 3, 4]]))
  result = evaluate(FixedScorer(np.ones((1, 5))), eval_set, ks=(4,))
  assert result.means == {"ndcg@4": 0.0, "recall@4": 0.0, "recall_full@4": 0.0, "hr@4": 0.0}


def test_batched_equals_unbatched_and_users_without_targets():
  rng = np.random.default_rng(0)
  num_users, num_items = 23, 40
  scores = rng.normal(size=(num_users, num_items))
  targets = sp.csr_matrix(rng.random((num_users, num_items)) < 0.1, dtype=np.float32)
  history = sp.csr_matrix((rng.random((num_users, num_items)) < 0.2)
                          & (targets.toarray() == 0), dtype=np.float32)
  eval_set = EvalSet(user_index=np.arange(num_users), inputs=history, targets=targets,
                     exclude=history)
  one = evaluate(FixedScorer(scores), eval_set, ks=(5, 10), batch_size=1)
  many = evaluate(FixedScorer(scores), eval_set, ks=(5, 10), batch_size=1000)
  seven = evaluate(FixedScorer(scores), eval_set, ks=(5, 10), batch_size=7)
  for key in one.per_user:  # exact: fixed scores, metrics computed row by row in numpy
    np.testing.assert_array_equal(one.per_user[key], many.per_user[key])
    np.testing.assert_array_equal(seven.per_user[key], many.per_user[key])
  without = int(np.sum(np.diff(targets.indptr) == 0))
  assert without > 0
  assert one.num_users == num_users and one.users_without_targets == without
  assert np.sum(np.isnan(one.per_user["ndcg@5"])) == without
  assert one.means["ndcg@5"] == pytest.approx(np.nanmean(one.per_user["ndcg@5"]), abs=1e-12)
  assert "users 2" in one.summary() and "ndcg@5" in one.summary()


def test_exclusion_matches_masking_by_hand():
  rng = np.random.default_rng(1)
  scores = rng.normal(size=(10, 30)).astype(np.float32)
  history = sp.csr_matrix(rng.random((10, 30)) < 0.3, dtype=np.float32)
  targets = sp.csr_matrix((rng.random((10, 30)) < 0.2) & (history.toarray() == 0),
                          dtype=np.float32)
  eval_set = EvalSet(user_index=np.arange(10), inputs=history, targets=targets,
                     exclude=history)
  result = evaluate(FixedScorer(scores), eval_set, ks=(3, 10), batch_size=4)
  masked = np.where(history.toarray() > 0, -np.inf, scores)
  expected = rank_metrics(targets.toarray() > 0, masked, (3, 10))
  for key, values in expected.items():
    np.testing.assert_array_equal(result.per_user[key], values)


def test_wrong_score_shape_is_reported():
  class Short(FixedScorer):
    def score(self, user_index, history, items=None):
      return super().score(user_index, history, items)[:, :-1]

  eval_set = EvalSet(user_index=np.array([0]), inputs=_csr([[0]]), targets=_csr([[1]]),
                     exclude=_csr([[0]]))
  with pytest.raises(ValueError, match="expected"):
    evaluate(Short(np.ones((1, 5))), eval_set, ks=(1,))


@pytest.mark.parametrize("protocol", ["strong", "given"])
def test_protocols_reporting_recall_report_both_conventions(protocol):
  reporting = REPORTING[protocol]
  keys = reporting.keys()
  for k in reporting.ks:
    assert f"recall@{k}" in keys and f"recall_full@{k}" in keys
  # One user, 3 held-out items (0, 1, 2) among 6; the scores rank them 1st, 4th and 6th.
  eval_set = EvalSet(user_index=np.array([-1]), inputs=_csr([[]], 6),
                     targets=_csr([[0, 1, 2]], 6), exclude=_csr([[]], 6))
  scorer = FixedScorer([[0.9, 0.6, 0.4, 0.8, 0.7, 0.5]])
  result = evaluate(scorer, eval_set, ks=(2, 4), metric_names=reporting.names)
  assert result.means["recall@2"] == pytest.approx(1 / 2, abs=1e-12)  # 1 hit / min(2, 3)
  assert result.means["recall_full@2"] == pytest.approx(1 / 3, abs=1e-12)  # 1 hit / 3
  assert result.means["recall@4"] == pytest.approx(2 / 3, abs=1e-12)
  assert result.means["recall_full@4"] == pytest.approx(2 / 3, abs=1e-12)  # |held-out| <= k: equal
