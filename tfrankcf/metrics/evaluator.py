"""`evaluate`: per-user ranking metrics of a scorer on an `EvalSet`, batched over users.

A scorer is anything with `score(user_index, history_csr, items=None) ->
np.ndarray`: every `tfrankcf.methods.base.Model` and every baseline. With
candidates (sampled protocols) each user is ranked among their candidate items
only; otherwise over the whole catalogue. Either way the `exclude` items are
scored -inf, on a copy of the scorer's output. Users are processed
`batch_size` at a time, so full ranking of 30K users x 41K items needs memory
for a few [batch_size, M] arrays only.
"""

import dataclasses
from typing import Dict, Sequence

import numpy as np

from tfrankcf.metrics.ranking import METRIC_NAMES, rank_metrics
from tfrankcf.protocols.split import EvalSet


@dataclasses.dataclass
class EvalResult:
  """Metrics of one evaluation.

  Attributes:
    per_user: metric key ("ndcg@10", "recall@20", "recall_full@20", "hr@10",
      ...) -> float64 [U], NaN for users without a target among the ranked items.
    means: metric key -> mean over the users with a target (NaN if none has).
    num_users: U, the users evaluated (rows of the `EvalSet`).
    users_without_targets: users left out of the means (NaN rows).
  """

  per_user: Dict[str, np.ndarray]
  means: Dict[str, float]
  num_users: int
  users_without_targets: int

  def summary(self) -> str:
    """One line: every mean, then the user counts."""
    metrics = "  ".join(f"{key} {value:.4f}" for key, value in self.means.items())
    averaged = self.num_users - self.users_without_targets
    return f"{metrics}  (users {averaged}, without targets {self.users_without_targets})"


def _copy_scores(scores, shape) -> np.ndarray:
  """A float copy of a scorer's output, which `evaluate` may then overwrite."""
  scores = np.array(scores)
  if not np.issubdtype(scores.dtype, np.floating):
    scores = scores.astype(np.float64)
  if scores.shape != shape:
    raise ValueError(f"scorer returned scores of shape {scores.shape}, expected {shape}")
  return scores


def _batch(scorer, eval_set: EvalSet, rows: slice):
  """Relevance [b, C] and scores [b, C] (exclude at -inf) of a batch of users."""
  user_index = np.asarray(eval_set.user_index[rows], np.int64)
  history = eval_set.inputs[rows]
  targets = eval_set.targets[rows].toarray() > 0
  exclude = eval_set.exclude[rows]
  if eval_set.candidates is None:
    scores = _copy_scores(scorer.score(user_index, history), targets.shape)
    excluded_rows, excluded_items = exclude.nonzero()
    scores[excluded_rows, excluded_items] = -np.inf
    return targets, scores
  items = np.asarray(eval_set.candidates[rows], np.int64)
  scores = _copy_scores(scorer.score(user_index, history, items=items), items.shape)
  scores[np.take_along_axis(exclude.toarray() > 0, items, axis=1)] = -np.inf
  return np.take_along_axis(targets, items, axis=1), scores


def evaluate(scorer, eval_set: EvalSet, ks: Sequence[int] = (5, 10, 20, 50, 100),
             metric_names: Sequence[str] = METRIC_NAMES,
             batch_size: int = 1000) -> EvalResult:
  """Ranks every user's items and returns per-user metrics and their means.

  Args:
    scorer: has `score(user_index [b], history csr [b, M], items=None)`
      returning [b, M] scores, or [b, C] scores of `items` [b, C].
    eval_set: the users, their history, targets, exclusions and candidates.
    ks: cutoffs; keys are "<name>@<k>" for every name and k.
    metric_names: any of "ndcg", "recall" (hits / min(k, |held-out|)),
      "recall_full" (hits / |held-out|) and "hr".
    batch_size: users scored at a time (memory ~ a few [batch_size, M] arrays).
  """
  if batch_size < 1:
    raise ValueError(f"batch_size must be positive, got {batch_size}")
  keys = [f"{name}@{k}" for name in metric_names for k in ks]
  parts = {key: [] for key in keys}
  for start in range(0, eval_set.num_users, batch_size):
    relevant, scores = _batch(scorer, eval_set, slice(start, start + batch_size))
    for key, values in rank_metrics(relevant, scores, ks, metric_names).items():
      parts[key].append(values)
  per_user = {key: np.concatenate(parts[key]) if parts[key] else np.zeros(0)
              for key in keys}
  without = int(np.isnan(per_user[keys[0]]).sum()) if keys else 0
  means = {key: float(np.mean(values[~np.isnan(values)])) if without < len(values)
           else float("nan") for key, values in per_user.items()}
  return EvalResult(per_user=per_user, means=means, num_users=eval_set.num_users,
                    users_without_targets=without)
