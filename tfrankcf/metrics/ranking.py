"""Ranking metrics over score rows (numpy): NDCG@k, Recall@k, HR@k per user.

Conventions (those of the Mult-VAE / RaCT evaluation code, notes §1.3):

* NDCG@k: binary gains, discount 1 / log2(rank + 1), normalised by the ideal
  DCG of min(k, |held-out|) relevant items.
* Recall@k: hits in the top k / min(k, |held-out|) (RaCT eq. 13).
* HR@k: 1 if any held-out item is in the top k.
* Items scored -inf are never ranked (the evaluator puts excluded items there).
* Ties are pessimistic: among equal scores the non-relevant items rank first
  (the APR code's "ties count against the test item"), so a constant model
  scores 0 however its ties are ordered in memory.
* Users without any held-out item get NaN (they are counted, not averaged).
"""

import numpy as np

METRIC_NAMES = ("ndcg", "recall", "hr")


def _break_ties_against_relevant(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
  """float64 scores where each relevant item sits just below its float32 value.

  A relevant item's score b is lowered by half the gap to the next float32
  below it, so it drops under every item with the same score and stays above
  every float32 value a < b (a <= nextafter(b, -inf) < b - gap / 2).
  """
  scores32 = np.asarray(scores, np.float32)
  adjusted = scores32.astype(np.float64)
  lower = relevant & np.isfinite(scores32)
  gap = scores32[lower].astype(np.float64) - np.nextafter(
      scores32[lower], np.float32(-np.inf)).astype(np.float64)
  adjusted[lower] -= gap / 2
  return adjusted


def _discounts(k: int) -> np.ndarray:
  return 1.0 / np.log2(np.arange(2, k + 2))


def rank_metrics(scores: np.ndarray, relevant: np.ndarray, ks,
                 metric_names=METRIC_NAMES) -> dict:
  """Per-row metrics {"ndcg@10": [B], ...} of `scores` [B, C] against boolean `relevant` [B, C]."""
  scores = np.asarray(scores)
  relevant = np.asarray(relevant, bool)
  unknown = set(metric_names) - set(METRIC_NAMES)
  if unknown:
    raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {METRIC_NAMES}")
  num_rows, num_columns = scores.shape
  k_max = min(max(ks), num_columns)
  adjusted = _break_ties_against_relevant(scores, relevant)
  if k_max < num_columns:
    top = np.argpartition(-adjusted, k_max - 1, axis=1)[:, :k_max]
  else:
    top = np.broadcast_to(np.arange(num_columns), (num_rows, num_columns))
  top_scores = np.take_along_axis(adjusted, top, axis=1)
  order = np.argsort(-top_scores, axis=1, kind="stable")
  top = np.take_along_axis(top, order, axis=1)
  hits = (np.take_along_axis(relevant, top, axis=1)
          & np.isfinite(np.take_along_axis(adjusted, top, axis=1)))
  num_relevant = relevant.sum(axis=1)
  has_relevant = num_relevant > 0
  discounts = _discounts(k_max)
  cumulative_dcg = np.cumsum(hits * discounts, axis=1)
  cumulative_hits = np.cumsum(hits, axis=1)
  ideal = np.concatenate([[1.0], np.cumsum(discounts)])  # ideal[0] avoids 0/0

  results = {}
  for k in ks:
    column = min(k, num_columns) - 1
    cutoff = np.minimum(num_relevant, k)
    values = {
        "ndcg": cumulative_dcg[:, column] / ideal[np.minimum(cutoff, k_max)],
        "recall": cumulative_hits[:, column] / np.maximum(cutoff, 1),
        "hr": (cumulative_hits[:, column] > 0).astype(np.float64),
    }
    for name in metric_names:
      results[f"{name}@{k}"] = np.where(has_relevant, values[name], np.nan)
  return results


def ndcg_at_k(scores, relevant, k: int) -> np.ndarray:
  return rank_metrics(scores, relevant, (k,), ("ndcg",))[f"ndcg@{k}"]


def recall_at_k(scores, relevant, k: int) -> np.ndarray:
  return rank_metrics(scores, relevant, (k,), ("recall",))[f"recall@{k}"]


def hit_rate_at_k(scores, relevant, k: int) -> np.ndarray:
  return rank_metrics(scores, relevant, (k,), ("hr",))[f"hr@{k}"]
