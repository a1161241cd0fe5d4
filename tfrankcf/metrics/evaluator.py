"""`evaluate`: per-user ranking metrics of a scorer on an `EvalSet`, batched over users.

A scorer is anything with `score(user_index, history_csr, items=None) ->
np.ndarray`: every `tfrankcf.methods.base.Model` and every baseline. With
candidates (sampled protocols) each user is ranked among their candidate items
only; otherwise over the whole catalogue with the `exclude` items at -inf.
Users are processed `batch_size` at a time, so full ranking of 30K users x 41K
items stays within a few hundred MB.
"""

import dataclasses

import numpy as np

from tfrankcf.metrics.ranking import METRIC_NAMES, rank_metrics
from tfrankcf.protocols.split import EvalSet


@dataclasses.dataclass
class EvalResult:
  """Per-user values (NaN for users without targets) and their means."""

  per_user: dict
  means: dict
  num_users: int
  users_without_targets: int

  def summary(self, keys=None) -> str:
    keys = keys or sorted(self.means)
    return "  ".join(f"{k} {self.means[k]:.4f}" for k in keys)


def _batch_scores(scorer, eval_set: EvalSet, rows: slice):
  user_index = eval_set.user_index[rows]
  history = eval_set.inputs[rows]
  targets = eval_set.targets[rows].toarray() > 0
  exclude = eval_set.exclude[rows]
  if eval_set.candidates is None:
    scores = np.array(scorer.score(user_index, history), np.float32)  # own copy
    excluded_rows, excluded_items = exclude.nonzero()
    scores[excluded_rows, excluded_items] = -np.inf
    return scores, targets
  items = eval_set.candidates[rows]
  scores = np.array(scorer.score(user_index, history, items), np.float32)
  relevant = np.take_along_axis(targets, items, axis=1)
  excluded = np.take_along_axis(exclude.toarray() > 0, items, axis=1) & ~relevant
  scores[excluded] = -np.inf
  return scores, relevant


def evaluate(scorer, eval_set: EvalSet, ks=(5, 10, 20, 50, 100),
             metric_names=METRIC_NAMES, batch_size: int = 1000) -> EvalResult:
  """Ranks every evaluated user's items and returns per-user metrics and means."""
  parts = []
  for start in range(0, eval_set.num_users, batch_size):
    scores, relevant = _batch_scores(scorer, eval_set, slice(start, start + batch_size))
    parts.append(rank_metrics(scores, relevant, ks, metric_names))
  keys = [f"{name}@{k}" for name in metric_names for k in ks]
  per_user = {key: (np.concatenate([p[key] for p in parts]) if parts
                    else np.zeros(0)) for key in keys}
  without = int(np.sum(np.diff(eval_set.targets.indptr) == 0))
  means = {key: (float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan"))
           for key, values in per_user.items()}
  return EvalResult(per_user=per_user, means=means, num_users=eval_set.num_users,
                    users_without_targets=without)
