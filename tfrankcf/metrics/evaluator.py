"""`evaluate`: per-user ranking metrics of a scorer on an `EvalSet`, batched over users.

A scorer is anything with `score(user_index, history_csr, items=None) ->
np.ndarray`: every `tfrankcf.methods.base.Model` and every baseline. With
candidates (sampled protocols) each user is ranked among their candidate items
only; otherwise over the whole catalogue. Either way the `exclude` items are
scored -inf, on a copy of the scorer's output. Users are processed
`batch_size` at a time, so full ranking of 30K users x 41K items needs memory
for a few [batch_size, M] arrays only.

Full ranking takes the compiled path of `tfrankcf.metrics.topk` when the
scorer also has `score_tf` (the trained models, ItemPop) and the set is not
tiny (`COMPILED_MIN_SCORES`): scoring, exclusion
and top-k run in one TensorFlow function per batch and only the [batch, k]
hits come back to numpy, with the same values as the numpy path (its tie rule
included). Other scorers, and candidate (sampled) protocols, use the numpy path.
"""

import dataclasses
from typing import Dict, Optional, Sequence

import numpy as np

from tfrankcf.metrics import topk
from tfrankcf.metrics.ranking import METRIC_NAMES, metrics_from_hits, rank_metrics
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

  Example:
    >>> import numpy as np
    >>> from tfrankcf.metrics.evaluator import EvalResult
    >>> result = EvalResult(per_user={"hr@1": np.array([1.0, 0.0, np.nan])},
    ...                     means={"hr@1": 0.5}, num_users=3, users_without_targets=1)
    >>> result.summary()
    'hr@1 0.5000  (users 2, without targets 1)'
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


def _check_arguments(ks: Sequence[int], metric_names: Sequence[str], batch_size: int) -> None:
  """The argument errors of `rank_metrics`, raised up front (the compiled path skips it)."""
  if batch_size < 1:
    raise ValueError(f"batch_size must be positive, got {batch_size}")
  unknown = set(metric_names) - set(METRIC_NAMES)
  if unknown:
    raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {METRIC_NAMES}")
  if not ks or min(ks) < 1:
    raise ValueError(f"cutoffs must be positive, got {tuple(ks)}")


def _compiled_batches(scorer, eval_set: EvalSet, ks, metric_names, batch_size: int):
  """Per-batch metrics of full ranking by `topk.FullRanker` (scorer has `score_tf`)."""
  num_items = eval_set.targets.shape[1]
  targets = topk.binary_rows(eval_set.targets)
  num_relevant = np.diff(targets.indptr)
  check_users = getattr(scorer, "check_users", None)
  if check_users is not None:
    check_users(np.asarray(eval_set.user_index, np.int64))
  ranker = topk.FullRanker(scorer, min(max(ks), num_items), num_items,
                           min(batch_size, max(eval_set.num_users, 1)))
  for start in range(0, eval_set.num_users, batch_size):
    rows = slice(start, start + batch_size)
    hits = ranker.hits(eval_set.user_index[rows], eval_set.inputs[rows],
                       eval_set.exclude[rows], targets[rows])
    yield metrics_from_hits(hits, num_relevant[rows], num_items, ks, metric_names)


def _numpy_batches(scorer, eval_set: EvalSet, ks, metric_names, batch_size: int):
  """Per-batch metrics of `rank_metrics` over the scorer's numpy scores."""
  for start in range(0, eval_set.num_users, batch_size):
    relevant, scores = _batch(scorer, eval_set, slice(start, start + batch_size))
    yield rank_metrics(relevant, scores, ks, metric_names)


# Below this many user x item scores the numpy path is faster than tracing the compiled one
# (~1 s once per scorer): ml100k (943 x 1,682) stays on it, ML-1M (6,040 x 3,706) does not.
COMPILED_MIN_SCORES = 1 << 22


def evaluate(scorer, eval_set: EvalSet, ks: Sequence[int] = (5, 10, 20, 50, 100),
             metric_names: Sequence[str] = METRIC_NAMES,
             batch_size: int = 1000, compiled: Optional[bool] = None) -> EvalResult:
  """Ranks every user's items and returns per-user metrics and their means.

  Args:
    scorer: has `score(user_index [b], history csr [b, M], items=None)`
      returning [b, M] scores, or [b, C] scores of `items` [b, C]; optionally
      `score_tf(user_index, history SparseTensor) -> [b, M]` for the compiled path.
    eval_set: the users, their history, targets, exclusions and candidates.
    ks: cutoffs; keys are "<name>@<k>" for every name and k.
    metric_names: any of "ndcg", "recall" (hits / min(k, |held-out|)),
      "recall_full" (hits / |held-out|) and "hr".
    batch_size: users scored at a time (memory ~ a few [batch_size, M] arrays).
    compiled: rank full catalogues with `score_tf` when the scorer has it:
      None (default) when the set has at least `COMPILED_MIN_SCORES` user x
      item scores, True always, False never. The values are the same.

  Example:
    Two users, 4 items; each user's history is excluded from the ranking.

    >>> import numpy as np, scipy.sparse as sp
    >>> from types import SimpleNamespace
    >>> from tfrankcf.metrics import evaluate
    >>> from tfrankcf.protocols.split import EvalSet
    >>> seen = sp.csr_matrix([[1., 0, 0, 0], [0, 0, 0, 1]])
    >>> held_out = sp.csr_matrix([[0., 1, 0, 0], [0, 1, 0, 0]])
    >>> eval_set = EvalSet(np.array([0, 1]), inputs=seen, targets=held_out, exclude=seen)
    >>> scores = np.array([[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.3, 0.4]])
    >>> scorer = SimpleNamespace(score=lambda user_index, history, items=None: scores[user_index])
    >>> print(evaluate(scorer, eval_set, ks=(1, 2), metric_names=("hr", "ndcg")).summary())
    hr@1 0.5000  hr@2 1.0000  ndcg@1 0.5000  ndcg@2 0.8155  (users 2, without targets 0)

    (User 0's item ranks 1st, user 1's 2nd: ndcg@2 is (1 + 1/log2(3)) / 2.)
  """
  _check_arguments(ks, metric_names, batch_size)
  keys = [f"{name}@{k}" for name in metric_names for k in ks]
  parts = {key: [] for key in keys}
  num_scores = eval_set.num_users * eval_set.targets.shape[1]
  if compiled is None:
    compiled = num_scores >= COMPILED_MIN_SCORES
  fast = (compiled and eval_set.candidates is None and num_scores > 0
          and topk.has_tf_scorer(scorer))
  batches = (_compiled_batches if fast else _numpy_batches)(
      scorer, eval_set, ks, metric_names, batch_size)
  for metrics in batches:
    for key, values in metrics.items():
      parts[key].append(values)
  per_user = {key: np.concatenate(parts[key]) if parts[key] else np.zeros(0)
              for key in keys}
  without = int(np.isnan(per_user[keys[0]]).sum()) if keys else 0
  means = {key: float(np.mean(values[~np.isnan(values)])) if without < len(values)
           else float("nan") for key, values in per_user.items()}
  return EvalResult(per_user=per_user, means=means, num_users=eval_set.num_users,
                    users_without_targets=without)
