"""Tests of the numpy ranking metrics on hand-computed cases."""

import numpy as np
import pytest

from tfrankcf.metrics.ranking import hit_rate_at_k, ndcg_at_k, rank_metrics, recall_at_k

D = 1.0 / np.log2(np.arange(2, 12))  # discounts of ranks 1..10


def test_single_relevant_item_at_each_rank():
  scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]] * 5)
  relevant = np.eye(5, dtype=bool)  # row r: the relevant item is at rank r+1
  np.testing.assert_allclose(ndcg_at_k(scores, relevant, 3), [D[0], D[1], D[2], 0, 0])
  np.testing.assert_allclose(hit_rate_at_k(scores, relevant, 3), [1, 1, 1, 0, 0])
  np.testing.assert_allclose(recall_at_k(scores, relevant, 3), [1, 1, 1, 0, 0])


def test_several_relevant_items_ideal_over_min_k_and_heldout():
  scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
  relevant = np.array([[False, True, False, True, True, True]])  # ranks 2, 4, 5, 6
  dcg3 = D[1]
  assert ndcg_at_k(scores, relevant, 3)[0] == pytest.approx(dcg3 / D[:3].sum())
  dcg6 = D[1] + D[3] + D[4] + D[5]
  assert ndcg_at_k(scores, relevant, 6)[0] == pytest.approx(dcg6 / D[:4].sum())
  # Recall: hits / min(k, |held-out|).
  assert recall_at_k(scores, relevant, 3)[0] == pytest.approx(1 / 3)
  assert recall_at_k(scores, relevant, 5)[0] == pytest.approx(3 / 4)
  assert recall_at_k(scores, relevant, 100)[0] == pytest.approx(1.0)


def test_fewer_heldout_items_than_k():
  scores = np.array([[3.0, 2.0, 1.0, 0.0]])
  relevant = np.array([[True, False, False, False]])
  # One held-out item at rank 1: perfect whatever k is.
  for k in (1, 2, 10):
    assert ndcg_at_k(scores, relevant, k)[0] == pytest.approx(1.0)
    assert recall_at_k(scores, relevant, k)[0] == pytest.approx(1.0)


def test_ract_figure_1():
  """RaCT Figure 1: target x = {1, 1, 0, 0}; NDCG(A) = 1, NDCG(B) = 0.613.

  The extracted figure lists B = (0.4, 0.25, 0.2, 0.15), which would rank both
  targets first; its NDCG of 0.613 = 1 / (1 + 1/log2 3) is the value of a
  prediction that ranks one target first and the other last, at a cutoff
  below 4 (here k = 3). We check the published values with that ranking.
  """
  target = np.array([[True, True, False, False]] * 2)
  predictions = np.array([[0.8, 0.1, 0.05, 0.05],   # A
                          [0.4, 0.15, 0.25, 0.2]])  # B: second target ranked last
  np.testing.assert_allclose(ndcg_at_k(predictions, target, 3), [1.0, 0.613], atol=5e-4)


def test_ties_count_against_relevant_items():
  relevant = np.zeros((1, 6), bool)
  relevant[0, 0] = True
  constant = np.zeros((1, 6))
  # A constant scorer ranks the relevant item below the 5 tied negatives.
  assert ndcg_at_k(constant, relevant, 5)[0] == 0.0
  assert ndcg_at_k(constant, relevant, 6)[0] == pytest.approx(D[5])
  # Mixed: relevant item tied with two negatives, above three: rank 3.
  scores = np.array([[1.0, 1.0, 1.0, 0.5, 0.2, 0.1]])
  assert ndcg_at_k(scores, relevant, 10)[0] == pytest.approx(D[2])
  # Ties between relevant items do not matter; strict orders are kept.
  scores = np.array([[np.float32(1.0), np.nextafter(np.float32(1.0), np.float32(0)), 0.0]])
  relevant = np.array([[True, False, False]])
  assert ndcg_at_k(scores, relevant, 1)[0] == pytest.approx(1.0)


def test_minus_infinity_is_never_ranked():
  scores = np.array([[-np.inf, 1.0, 0.5, -np.inf]])
  relevant = np.array([[True, False, True, False]])
  # Item 0 is excluded: relevant item 2 at rank 2; item 0 never counts as a hit.
  values = rank_metrics(scores, relevant, (1, 4))
  assert values["hr@1"][0] == 0.0
  assert values["recall@4"][0] == pytest.approx(0.5)
  assert values["ndcg@4"][0] == pytest.approx(D[1] / D[:2].sum())


def test_users_without_heldout_items_are_nan():
  values = rank_metrics(np.ones((2, 3)), np.array([[0, 0, 0], [0, 1, 0]], bool), (2,))
  assert np.isnan(values["ndcg@2"][0]) and not np.isnan(values["ndcg@2"][1])


def test_k_larger_than_the_list_and_unknown_metric():
  scores = np.array([[0.1, 0.9]])
  relevant = np.array([[True, False]])
  assert ndcg_at_k(scores, relevant, 10)[0] == pytest.approx(D[1])
  with pytest.raises(ValueError, match="unknown metric"):
    rank_metrics(scores, relevant, (1,), ("map",))


def test_matches_a_brute_force_reference_on_random_rows():
  rng = np.random.default_rng(0)
  scores = rng.normal(size=(50, 40)).astype(np.float32)
  scores[rng.random(scores.shape) < 0.1] = -np.inf
  relevant = (rng.random(scores.shape) < 0.15) & np.isfinite(scores)
  values = rank_metrics(scores, relevant, (5, 20))
  for row in range(50):
    order = np.argsort(-scores[row], kind="stable")
    order = order[np.isfinite(scores[row][order])]
    n = relevant[row].sum()
    for k in (5, 20):
      hits = relevant[row][order[:k]]
      if n == 0:
        assert np.isnan(values[f"ndcg@{k}"][row])
        continue
      dcg = np.sum(hits / np.log2(np.arange(2, len(hits) + 2)))
      ideal = np.sum(1 / np.log2(np.arange(2, min(n, k) + 2)))
      assert values[f"ndcg@{k}"][row] == pytest.approx(dcg / ideal)
      assert values[f"recall@{k}"][row] == pytest.approx(hits.sum() / min(n, k))
      assert values[f"hr@{k}"][row] == float(hits.any())
