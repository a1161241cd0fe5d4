"""Tests of the numpy ranking metrics on hand-computed cases."""

import numpy as np
import pytest

from tfrankcf.metrics.ranking import (hit_rate_at_k, ndcg_at_k, rank_metrics, recall_at_k,
                                      recall_full_at_k)

D = 1.0 / np.log2(np.arange(2, 12))  # discounts of ranks 1..10


def test_single_relevant_item_at_each_rank():
  scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]] * 5)
  relevant = np.eye(5, dtype=bool)  # row r: the relevant item is at rank r + 1
  np.testing.assert_allclose(ndcg_at_k(relevant, scores, 3), [1.0, D[1], D[2], 0, 0], atol=1e-12)
  np.testing.assert_array_equal(hit_rate_at_k(relevant, scores, 3), [1, 1, 1, 0, 0])
  np.testing.assert_array_equal(recall_at_k(relevant, scores, 3), [1, 1, 1, 0, 0])


def test_several_relevant_items():
  scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
  relevant = np.array([[False, True, False, True, True, True]])  # ranks 2, 4, 5, 6
  assert ndcg_at_k(relevant, scores, 3)[0] == pytest.approx(D[1] / (D[0] + D[1] + D[2]), abs=1e-12)
  dcg6 = D[1] + D[3] + D[4] + D[5]
  assert ndcg_at_k(relevant, scores, 6)[0] == pytest.approx(dcg6 / D[:4].sum(), abs=1e-12)
  assert recall_at_k(relevant, scores, 3)[0] == pytest.approx(1 / 3, abs=1e-12)  # 1 hit / min(3, 4)
  # 3 hits / min(5, 4)
  assert recall_at_k(relevant, scores, 5)[0] == pytest.approx(3 / 4, abs=1e-12)
  assert hit_rate_at_k(relevant, scores, 1)[0] == 0.0


def test_fewer_heldout_items_than_k():
  scores = np.array([[3.0, 2.0, 1.0, 0.0], [3.0, 2.0, 1.0, 0.0]])
  relevant = np.array([[True, False, False, False], [False, True, False, True]])
  # Row 0: one held-out item at rank 1 is perfect at every k (ideal DCG over 1 item).
  # Row 1: ranks 2 and 4; ideal over min(k, 2) items, recall over min(k, 2).
  for k in (2, 3, 10):
    values = rank_metrics(relevant, scores, (k,))
    assert values[f"ndcg@{k}"][0] == pytest.approx(1.0, abs=1e-12)
    assert values[f"recall@{k}"][0] == pytest.approx(1.0, abs=1e-12)
    assert values[f"ndcg@{k}"][1] == pytest.approx(
        (D[1] + (D[3] if k >= 4 else 0)) / (D[0] + D[1]), abs=1e-12)
    assert values[f"recall@{k}"][1] == pytest.approx((1 + (k >= 4)) / 2, abs=1e-12)
  assert recall_at_k(relevant, scores, 1)[1] == 0.0


def test_the_two_recall_conventions_by_hand():
  # Six items ranked by score; row 0 has 4 held-out items at ranks 1, 2, 4, 6; row 1 has 2
  # at ranks 2 and 5; row 2 has 5 at ranks 2, 3, 4, 5, 6.
  scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]] * 3)
  relevant = np.array([[1, 1, 0, 1, 0, 1], [0, 1, 0, 0, 1, 0], [0, 1, 1, 1, 1, 1]], bool)
  values = rank_metrics(relevant, scores, (1, 2, 3, 5, 6), ("recall", "recall_full"))
  # recall: hits / min(k, |held-out|); recall_full: hits / |held-out| (LightGCN, RecBole).
  np.testing.assert_allclose(values["recall@2"], [2 / 2, 1 / 2, 1 / 2], atol=1e-12)
  np.testing.assert_allclose(values["recall_full@2"], [2 / 4, 1 / 2, 1 / 5], atol=1e-12)
  np.testing.assert_allclose(values["recall@3"], [2 / 3, 1 / 2, 2 / 3], atol=1e-12)
  np.testing.assert_allclose(values["recall_full@3"], [2 / 4, 1 / 2, 2 / 5], atol=1e-12)
  np.testing.assert_allclose(values["recall@5"], [3 / 4, 2 / 2, 4 / 5], atol=1e-12)
  np.testing.assert_allclose(values["recall_full@5"], [3 / 4, 2 / 2, 4 / 5], atol=1e-12)
  np.testing.assert_allclose(values["recall_full@1"], [1 / 4, 0, 0], atol=1e-12)
  # Where |held-out| <= k (row 1 from k = 2, every row at k >= 5) the two are equal.
  for k in (5, 6):
    np.testing.assert_array_equal(values[f"recall@{k}"], values[f"recall_full@{k}"])
  for k in (2, 3):
    assert values[f"recall@{k}"][1] == values[f"recall_full@{k}"][1]
  assert recall_full_at_k(relevant, scores, 3)[0] == pytest.approx(0.5, abs=1e-12)
  # An excluded (-inf) held-out item is a miss that still counts in |held-out|.
  masked = np.where(np.arange(6) == 0, -np.inf, scores[:1])
  assert recall_full_at_k(relevant[:1], masked, 6)[0] == pytest.approx(3 / 4, abs=1e-12)
  assert np.isnan(recall_full_at_k(np.zeros((1, 6), bool), scores[:1], 3)[0])


def test_ract_figure_1():
  """RaCT Figure 1: target x = (1, 1, 0, 0); NLL(A) = -log 0.08, NLL(B) = -log 0.10; NDCG 1 and 0.613.

  A = (0.8, 0.1, 0.05, 0.05) ranks both targets first: NDCG 1. The printed
  B = (0.4, 0.25, 0.2, 0.15) also ranks both targets first (NDCG 1 at every k),
  so it cannot give the published 0.613. That value is 1 / (1 + 1/log2 3):
  one target at rank 1 and the other outside the top 2. B' keeps B's
  probabilities of the targets (hence its NLL) but gives a non-target more
  mass than the second target; its NDCG@2 is the published 0.613.
  """
  target = np.array([[1, 1, 0, 0]] * 3, bool)
  a = [0.8, 0.1, 0.05, 0.05]
  b = [0.4, 0.25, 0.2, 0.15]
  b_prime = [0.4, 0.25, 0.3, 0.05]
  predictions = np.array([a, b, b_prime])
  nll = -np.log(np.where(target, predictions, 1.0)).sum(axis=1)
  np.testing.assert_allclose(nll, -np.log([0.08, 0.10, 0.10]), atol=1e-12)
  for k in (2, 4):
    assert ndcg_at_k(target, predictions, k)[0] == pytest.approx(1.0, abs=1e-12)
    assert ndcg_at_k(target, predictions, k)[1] == pytest.approx(1.0, abs=1e-12)
  assert ndcg_at_k(target, predictions, 2)[2] == pytest.approx(0.613, abs=5e-4)


def test_constant_scorer_gets_zero():
  relevant = np.zeros((1, 6), bool)
  relevant[0, 3] = True
  constant = np.full((1, 6), 0.7, np.float32)
  # The relevant item ranks below all 5 tied non-relevant items: rank 6.
  for k in (1, 5):
    assert ndcg_at_k(relevant, constant, k)[0] == 0.0
    assert hit_rate_at_k(relevant, constant, k)[0] == 0.0
  assert ndcg_at_k(relevant, constant, 6)[0] == pytest.approx(D[5], abs=1e-12)


def test_mixed_ties_by_hand():
  # Items 0..7, relevant: 2 (score 0.9, tied with 1 above the cut), 4 and 6
  # (score 0.5, tied with non-relevant 3 and 5 across the cut at k = 4).
  scores = np.array([[1.0, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.1]])
  relevant = np.zeros((1, 8), bool)
  relevant[0, [2, 4, 6]] = True
  # Pessimistic order: 0, 1, 2*, 3, 5, 4*, 6*, 7 -> relevant at ranks 3, 6, 7.
  ks = (2, 3, 4, 5, 6, 7, 8)
  values = rank_metrics(relevant, scores, ks)
  assert values["hr@2"][0] == 0.0 and values["hr@3"][0] == 1.0
  assert values["ndcg@4"][0] == pytest.approx(D[2] / D[:3].sum(), abs=1e-12)
  assert values["recall@5"][0] == pytest.approx(1 / 3, abs=1e-12)
  assert values["recall@6"][0] == pytest.approx(2 / 3, abs=1e-12)
  assert values["recall@7"][0] == pytest.approx(1.0, abs=1e-12)
  assert values["ndcg@8"][0] == pytest.approx((D[2] + D[5] + D[6]) / D[:3].sum(), abs=1e-12)
  # The order of the tied items in memory does not matter.
  permutation = np.array([[6, 3, 7, 0, 4, 2, 5, 1]])
  permuted = rank_metrics(np.take_along_axis(relevant, permutation, 1),
                          np.take_along_axis(scores, permutation, 1), ks)
  for key, value in values.items():
    assert permuted[key][0] == pytest.approx(value[0], abs=1e-12)


def test_adjacent_float32_scores_are_not_ties():
  below = np.nextafter(np.float32(1.0), np.float32(0.0))
  scores = np.array([[np.float32(1.0), below, below]], np.float32)
  assert ndcg_at_k(np.array([[True, False, False]]), scores, 1)[0] == 1.0
  assert ndcg_at_k(np.array([[False, False, True]]), scores, 2)[0] == 0.0


def test_minus_infinity_is_never_ranked():
  scores = np.array([[-np.inf, 1.0, 0.5, -np.inf]])
  relevant = np.array([[True, False, True, False]])
  # Item 0 is excluded: a miss that still counts as held out; item 2 is at rank 2.
  values = rank_metrics(relevant, scores, (1, 4))
  assert values["hr@1"][0] == 0.0
  assert values["recall@4"][0] == pytest.approx(0.5, abs=1e-12)
  assert values["ndcg@4"][0] == pytest.approx(D[1] / D[:2].sum(), abs=1e-12)
  # Rows with fewer finite scores than k: the -inf tail holds no hits.
  assert hit_rate_at_k(np.array([[False, True]]), np.array([[0.0, -np.inf]]), 2)[0] == 0.0


def test_rows_without_relevant_items_are_nan():
  values = rank_metrics(np.array([[0, 0, 0], [0, 1, 0]], bool), np.ones((2, 3)), (2,))
  for key in ("ndcg@2", "recall@2", "recall_full@2", "hr@2"):
    assert np.isnan(values[key][0]) and not np.isnan(values[key][1])


def test_k_larger_than_the_row_and_bad_input():
  scores = np.array([[0.1, 0.9]])
  relevant = np.array([[True, False]])
  assert ndcg_at_k(relevant, scores, 10)[0] == pytest.approx(D[1], abs=1e-12)
  assert recall_at_k(relevant, scores, 10)[0] == 1.0
  with pytest.raises(ValueError, match="unknown metric"):
    rank_metrics(relevant, scores, (1,), ("map",))
  with pytest.raises(ValueError, match="NaN"):
    rank_metrics(relevant, np.array([[np.nan, 1.0]]), (1,))
  with pytest.raises(ValueError, match="must both be"):
    rank_metrics(relevant, scores.T, (1,))


def _pessimistic_reference(relevant_row, score_row, k):
  """NDCG, recall, full recall and HR of one row by sorting (score desc, relevance asc)."""
  order = sorted((item for item in range(len(score_row)) if score_row[item] > -np.inf),
                 key=lambda item: (-score_row[item], relevant_row[item]))
  hits = np.array([relevant_row[item] for item in order[:k]], float)
  n = int(relevant_row.sum())
  dcg = np.sum(hits / np.log2(np.arange(2, len(hits) + 2)))
  ideal = np.sum(1 / np.log2(np.arange(2, min(n, k) + 2)))
  return dcg / ideal, hits.sum() / min(n, k), hits.sum() / n, float(hits.any())


def test_matches_a_brute_force_reference_with_many_ties():
  rng = np.random.default_rng(0)
  scores = rng.integers(0, 6, size=(60, 30)).astype(np.float32)  # heavy ties
  scores[rng.random(scores.shape) < 0.1] = -np.inf
  relevant = rng.random(scores.shape) < 0.2
  relevant[0] = False
  ks = (1, 5, 20, 40)
  values = rank_metrics(relevant, scores, ks)
  for row in range(60):
    for k in ks:
      if not relevant[row].any():
        assert np.isnan(values[f"ndcg@{k}"][row])
        continue
      ndcg, recall, recall_full, hr = _pessimistic_reference(relevant[row], scores[row], k)
      assert values[f"ndcg@{k}"][row] == pytest.approx(ndcg, abs=1e-12)
      assert values[f"recall@{k}"][row] == pytest.approx(recall, abs=1e-12)
      assert values[f"recall_full@{k}"][row] == pytest.approx(recall_full, abs=1e-12)
      assert values[f"hr@{k}"][row] == hr
