"""Ranking metrics of score rows (numpy): NDCG@k, Recall@k (two conventions) and HR@k per user.

Conventions (those of the Mult-VAE / RaCT evaluation code, notes §1.3):

* NDCG@k: binary gains, discount 1 / log2(rank + 1), normalised by the ideal
  DCG of min(k, |held-out|) relevant items.
* Recall@k ("recall"): hits in the top k / min(k, |held-out|) (RaCT eq. 13),
  so a perfect ranking scores 1 whatever the number of held-out items.
* Full Recall@k ("recall_full"): hits in the top k / |held-out|, the
  convention of LightGCN, NGCF and RecBole. It equals Recall@k when
  |held-out| <= k and is lower otherwise.
* HR@k: 1 if any held-out item is in the top k.
* Items scored -inf are never ranked (the evaluator puts excluded items
  there); a relevant item at -inf is a miss but still counts as held out.
* Ties are pessimistic: among equal scores the non-relevant items rank first
  (the APR code's "ties count against the test item"), so a constant model
  scores 0 however its ties happen to be ordered in memory.
* Rows without any relevant item get NaN (the evaluator counts them and
  leaves them out of the means).

Arguments follow the TF-Ranking order (labels first) like `ranking_tf`.
"""

from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

METRIC_NAMES = ("ndcg", "recall", "recall_full", "hr")


def _pessimistic_top_hits(relevant: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
  """Relevance [B, k] of the k best items, ties ordered non-relevant first.

  `tf.math.top_k` finds the k best items (multi-threaded, and unlike
  np.argpartition it never materialises a [B, C] index array). Two tie
  repairs make the order exact and independent of item positions:
  ties above the k-th score `t` lie wholly inside the top k, so sorting the
  top k by (score desc, relevance asc) orders them; items tied at `t` may
  straddle the cut, so the slots holding `t` are refilled from the counts of
  non-relevant and relevant items scored `t` over the whole row.
  """
  values, top = (x.numpy() for x in tf.math.top_k(scores, k=k, sorted=True))
  top_relevant = np.take_along_axis(relevant, top, axis=1)
  order = np.lexsort((top_relevant, -values), axis=1)
  hits = np.take_along_axis(top_relevant, order, axis=1)
  threshold = values[:, -1:]
  num_above = np.count_nonzero(values > threshold, axis=1)[:, None]
  at_threshold = scores == threshold
  non_relevant_at_threshold = np.count_nonzero(at_threshold & ~relevant, axis=1)[:, None]
  slot = np.arange(k)[None, :] - num_above  # >= 0 in the slots holding `t`
  tie_hits = (slot >= non_relevant_at_threshold) & (threshold > -np.inf)
  return np.where(slot >= 0, tie_hits, hits)


def rank_metrics(relevant: np.ndarray, scores: np.ndarray, ks: Sequence[int],
                 metric_names: Sequence[str] = METRIC_NAMES) -> Dict[str, np.ndarray]:
  """Per-row metrics {"ndcg@10": [B], ...} of `scores` [B, C] against boolean `relevant` [B, C].

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import rank_metrics
  >>> relevant = np.array([[0, 1, 0, 0], [1, 1, 1, 0]], bool)
  >>> metrics = rank_metrics(relevant, np.array([[0.4, 0.3, 0.2, 0.1]] * 2), ks=(1, 2))
  >>> {key: np.round(values, 4).tolist() for key, values in metrics.items()}
  {'ndcg@1': [0.0, 1.0], 'recall@1': [0.0, 1.0], 'recall_full@1': [0.0, 0.3333],
   'hr@1': [0.0, 1.0], 'ndcg@2': [0.6309, 1.0], 'recall@2': [1.0, 1.0],
   'recall_full@2': [1.0, 0.6667], 'hr@2': [1.0, 1.0]}
  """
  relevant = np.asarray(relevant)
  if relevant.dtype != bool:
    relevant = relevant > 0
  scores = np.asarray(scores)
  if not np.issubdtype(scores.dtype, np.floating):
    scores = scores.astype(np.float64)
  if relevant.shape != scores.shape or scores.ndim != 2 or scores.shape[1] == 0:
    raise ValueError(f"relevant {relevant.shape} and scores {scores.shape} must both be "
                     "[B, C] with C >= 1")
  unknown = set(metric_names) - set(METRIC_NAMES)
  if unknown:
    raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {METRIC_NAMES}")
  if not ks or min(ks) < 1:
    raise ValueError(f"cutoffs must be positive, got {tuple(ks)}")
  if np.isnan(scores).any():
    raise ValueError("scores contain NaN; cannot rank")
  num_columns = scores.shape[1]
  k_max = min(max(ks), num_columns)
  hits = _pessimistic_top_hits(relevant, scores, k_max)
  return metrics_from_hits(hits, np.count_nonzero(relevant, axis=1), num_columns, ks,
                           metric_names)


def metrics_from_hits(hits: np.ndarray, num_relevant: np.ndarray, num_columns: int,
                      ks: Sequence[int], metric_names: Sequence[str]) -> Dict[str, np.ndarray]:
  """Per-row metrics {"ndcg@10": [B], ...} from pessimistic hits [B, min(max(ks), C)].

  `num_relevant` [B] counts each row's relevant items among its C ranked
  columns. `rank_metrics` and the compiled evaluation (`tfrankcf.metrics.topk`)
  both end here, so the two agree by construction.

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import metrics_from_hits
  >>> hits = np.array([[False, True], [True, True]])  # the top 2 slots of 2 rows of 4 items
  >>> metrics = metrics_from_hits(hits, np.array([1, 3]), 4, ks=(2,), metric_names=("ndcg",))
  >>> np.round(metrics["ndcg@2"], 4).tolist()  # rank 2: 1/log2(3); both slots hit: 1
  [0.6309, 1.0]
  """
  k_max = hits.shape[1]
  discounts = 1.0 / np.log2(np.arange(2, k_max + 2))
  cumulative_dcg = np.cumsum(hits * discounts, axis=1)
  cumulative_hits = np.cumsum(hits, axis=1)
  ideal_dcg = np.concatenate([[1.0], np.cumsum(discounts)])  # [0] avoids 0/0
  has_relevant = num_relevant > 0
  results = {}
  for k in ks:
    column = min(k, num_columns) - 1
    cutoff = np.minimum(num_relevant, min(k, num_columns))
    for name in metric_names:
      if name == "ndcg":
        values = cumulative_dcg[:, column] / ideal_dcg[cutoff]
      elif name == "recall":
        values = cumulative_hits[:, column] / np.maximum(cutoff, 1)
      elif name == "recall_full":
        values = cumulative_hits[:, column] / np.maximum(num_relevant, 1)
      else:
        values = (cumulative_hits[:, column] > 0).astype(np.float64)
      results[f"{name}@{k}"] = np.where(has_relevant, values, np.nan)
  return results


def ndcg_at_k(relevant: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
  """NDCG@k per row [B] (NaN for rows without a relevant item).

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import ndcg_at_k
  >>> relevant = np.array([[0, 1, 0, 0], [0, 0, 0, 0]], bool)
  >>> ndcg_at_k(relevant, np.array([[0.4, 0.3, 0.2, 0.1]] * 2), k=2).round(4)
  array([0.6309,    nan])

  (One relevant item at rank 2: 1/log2(3); a row without one is NaN.)
  """
  return rank_metrics(relevant, scores, (k,), ("ndcg",))[f"ndcg@{k}"]


def recall_at_k(relevant: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
  """Recall@k per row [B]: hits / min(k, #relevant) (NaN without a relevant item).

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import recall_at_k
  >>> relevant = np.array([[1, 0, 0, 0], [1, 1, 1, 0]], bool)
  >>> recall_at_k(relevant, np.array([[0.4, 0.3, 0.2, 0.1]] * 2), k=2)  # 1/1, 2/2
  array([1., 1.])
  """
  return rank_metrics(relevant, scores, (k,), ("recall",))[f"recall@{k}"]


def recall_full_at_k(relevant: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
  """Full Recall@k per row [B]: hits / #relevant (NaN without a relevant item).

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import recall_full_at_k
  >>> relevant = np.array([[1, 0, 0, 0], [1, 1, 1, 0]], bool)
  >>> recall_full_at_k(relevant, np.array([[0.4, 0.3, 0.2, 0.1]] * 2), k=2).round(4)  # 1/1, 2/3
  array([1.    , 0.6667])
  """
  return rank_metrics(relevant, scores, (k,), ("recall_full",))[f"recall_full@{k}"]


def hit_rate_at_k(relevant: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
  """HR@k per row [B]: 1 if a relevant item is in the top k (NaN without one).

  >>> import numpy as np
  >>> from tfrankcf.metrics.ranking import hit_rate_at_k
  >>> relevant = np.array([[0, 0, 1, 0], [0, 1, 0, 0]], bool)
  >>> hit_rate_at_k(relevant, np.array([[0.4, 0.3, 0.2, 0.1]] * 2), k=2)
  array([0., 1.])
  >>> hit_rate_at_k(relevant, np.zeros([2, 4]), k=3)  # ties: the relevant item ranks last
  array([0., 0.])
  """
  return rank_metrics(relevant, scores, (k,), ("hr",))[f"hr@{k}"]
