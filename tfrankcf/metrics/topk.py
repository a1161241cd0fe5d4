"""Full ranking of a batch of users in one compiled TensorFlow function: score, exclude, top-k.

The fast path of `tfrankcf.metrics.evaluate` for scorers with a TensorFlow
scoring function `score_tf(user_index [B] int64, history tf.SparseTensor [B, M])
-> [B, M]` (every `tfrankcf.methods.base.Model`, ItemPop). Per batch, one
`tf.function` with a fixed signature scores the users, puts their excluded
items at -inf (from the sparse indices: `tf.tensor_scatter_nd_update`, or in
place for a matrix product's scores, `_excluded`), takes
the top k and returns only the relevance [B, k] of the ranked slots: the
[B, M] scores never leave the device and no dense [B, M] array is built on the
host. The metrics follow from those hits and the per-user target counts by
`tfrankcf.metrics.ranking.metrics_from_hits`, the code of the numpy metrics, so
they keep every convention of `tfrankcf.metrics.ranking`, its tie rule included:

* ties above the k-th score `t` lie wholly inside the top k, so two stable
  sorts of the k slots (relevance ascending, then score descending) put the
  non-relevant items of each tie first;
* the slots holding `t` are refilled from two row-wide counts, the items
  scored `t` and the targets scored `t` (read from the target indices): the
  first (#items at t - #targets at t) of those slots are misses, the rest hits,
  and all of them are misses when `t` is -inf. The row-wide count of items at
  `t` is one pass over [B, M]; it runs only for batches where the (k+1)-th
  score equals `t` (a tie across the cut), otherwise the top k hold every item
  at `t`.

On large catalogues the top k come in two stages (`_top_k`): the maxima of
groups of about sqrt(M / k) / 2 items, the k best groups, the top k of their
items; about twice as fast as one `tf.math.top_k` over [B, 40K] on CPU, and
exact (the tie repair reads only values, items above `t` and counts).

The function is traced once per scorer, k and M and cached while the scorer
lives (as `Model._score_full` is): `score_tf` must read what changes between
calls (weights) from variables, not from Python values frozen at trace time.

Optional scorer attributes: `uses_history = False` (the history is not sent),
`check_users(user_index)` (raises on users it cannot score) and
`supports_score_tf = False` (use the numpy path).
"""

import weakref
from typing import Dict, Sequence

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


_SENTINEL = np.iinfo(np.int64).max


def has_tf_scorer(scorer) -> bool:
  """Whether `scorer` can take the compiled path (has a usable `score_tf`).

  >>> from types import SimpleNamespace
  >>> from tfrankcf.metrics.topk import has_tf_scorer
  >>> score_tf = lambda user_index, history: None
  >>> has_tf_scorer(SimpleNamespace(score_tf=score_tf))
  True
  >>> has_tf_scorer(SimpleNamespace(score_tf=score_tf, supports_score_tf=False))
  False
  """
  return (callable(getattr(scorer, "score_tf", None))
          and bool(getattr(scorer, "supports_score_tf", True)))


def binary_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
  """Canonical csr of the entries > 0 (duplicates summed first, as `toarray() > 0` reads them).

  >>> import scipy.sparse as sp
  >>> from tfrankcf.metrics.topk import binary_rows
  >>> binary_rows(sp.csr_matrix([[0, 3, -1], [2, 0, 0]])).toarray().tolist()
  [[0, 1, 0], [1, 0, 0]]
  """
  matrix = sp.csr_matrix(matrix, copy=True)
  matrix.sum_duplicates()
  keep = matrix.data > 0
  if not keep.all():
    matrix.data = keep.astype(matrix.dtype)
    matrix.eliminate_zeros()
  return matrix


def _row_ids(matrix: sp.csr_matrix) -> np.ndarray:
  return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def _sparse_tensor(matrix: sp.csr_matrix) -> tf.SparseTensor:
  """tf.SparseTensor float32 of a csr batch (canonical order, as `tf.sparse.to_dense` needs)."""
  if not matrix.has_canonical_format:
    matrix = sp.csr_matrix(matrix, copy=True)
    matrix.sum_duplicates()
  indices = np.stack([_row_ids(matrix), matrix.indices.astype(np.int64)], axis=1)
  return tf.SparseTensor(indices, matrix.data.astype(np.float32, copy=False),
                         np.array(matrix.shape, np.int64))


def group_size(num_items: int, k: int) -> int:
  """Items per group of the two-stage top-k, 0 for one `tf.math.top_k` over the whole row.

  About sqrt(M / k) / 2 (the fastest on a 2-core x86-64 at M = 40K, k = 21
  and 101), at least 8; a divisor of M within a factor 2 of it when there is
  one (no padding then).

  >>> from tfrankcf.metrics.topk import group_size
  >>> group_size(40000, 21), group_size(100, 10)  # 20 divides 40K; 100 items: one top_k
  (20, 0)
  """
  target = max(8, int(round(np.sqrt(num_items / k) / 2)))
  if num_items // target < 2 * k:
    return 0
  divisors = [c for c in range(max(2, target // 2), 2 * target + 1) if num_items % c == 0]
  if divisors:
    return min(divisors, key=lambda c: abs(np.log(c / target)))
  return target


def _top_k(scores: tf.Tensor, k: int, size: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """Top k values and items [B, k] of `scores` [B, M] and the row maxima of `size`-item groups.

  With `size` > 0, item i belongs to group i mod G (G = ceil(M / size)), the
  rows are padded with -inf to size * G, and the top k come from the k groups
  with the highest maxima: every item above the k-th best group maximum is in
  one of them, so the k best values are exact (equal values may come from
  other items, which the tie repair does not read). The group maxima are NaN
  where a group holds a NaN (`tf.reduce_max` propagates it).
  """
  if not size:
    values, top = tf.math.top_k(scores, k=k, sorted=True)
    return values, top, scores
  num_items = scores.shape[1]
  num_groups = -(-num_items // size)
  if size * num_groups != num_items:
    scores = tf.concat([scores, tf.fill([tf.shape(scores)[0], size * num_groups - num_items],
                                        tf.constant(-np.inf, scores.dtype))], 1)
  groups = tf.reshape(scores, [-1, size, num_groups])  # [B, size, G]: item c * G + g
  maxima = tf.reduce_max(groups, axis=1)
  _, best = tf.math.top_k(maxima, k=k, sorted=False)  # [B, k] groups
  candidates = tf.gather(groups, best, axis=2, batch_dims=1)  # [B, size, k]
  values, flat = tf.math.top_k(tf.reshape(candidates, [-1, size * k]), k=k, sorted=True)
  top = (flat // k) * num_groups + tf.gather(best, flat % k, batch_dims=1)
  return values, top, maxima


# Ops whose output is a buffer no other tensor holds (allocated, or forwarded from a dead input):
# a matrix product's scores can take the -inf of the exclusions in place.
_FRESH_OUTPUT_OPS = frozenset({"MatMul", "BatchMatMulV2", "BatchMatMulV3", "BiasAdd", "Einsum",
                               "SparseTensorDenseMatMul"})


def _excluded(scores: tf.Tensor, exclude: tf.Tensor, max_batch: int) -> tf.Tensor:
  """`scores` [B, M] with the items `exclude` [n, 2] (row, item) at -inf.

  `tf.tensor_scatter_nd_update` copies the whole [B, M] block (as much as the
  scoring of an MF model costs); when the scores come straight from a matrix
  product that nothing else reads, `InplaceUpdate` writes the -inf into that
  buffer instead. (It aliases its input: never on a variable's or a constant's
  buffer, hence the check.)
  """
  fill = tf.constant(-np.inf, scores.dtype)
  num_items = scores.shape[1]
  if (scores.op.type in _FRESH_OUTPUT_OPS and not scores.consumers()
      and max_batch * num_items < 2**31):
    flat = exclude[:, 0] * num_items + exclude[:, 1]
    updated = tf.raw_ops.InplaceUpdate(x=tf.reshape(scores, [-1]), i=tf.cast(flat, tf.int32),
                                       v=tf.fill(tf.shape(flat), fill))
    return tf.reshape(updated, tf.shape(scores))
  return tf.tensor_scatter_nd_update(scores, exclude, tf.fill(tf.shape(exclude)[:1], fill))


def _ranked_hits(scores: tf.Tensor, target_keys: tf.Tensor,
                 k: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Pessimistic hits [B, k] of `scores` [B, M] (excluded items at -inf), and a NaN flag.

  `target_keys` [T] are the sorted row * M + item of the targets.
  """
  num_items = scores.shape[1]
  batch = tf.shape(scores)[0]
  extra = 1 if k < num_items else 0
  values, top, maxima = _top_k(scores, k + extra, group_size(num_items, k + extra))
  has_nan = tf.reduce_any(tf.math.is_nan(maxima))
  if extra:
    next_values, values, top = values[:, k], values[:, :k], top[:, :k]
  threshold = values[:, -1]
  rows = tf.range(tf.cast(batch, tf.int64))
  top_keys = tf.reshape(rows[:, None] * num_items + tf.cast(top, tf.int64), [-1])
  keys = tf.concat([target_keys, tf.constant([_SENTINEL], tf.int64)], 0)
  found = tf.gather(keys, tf.searchsorted(keys, top_keys))
  relevant = tf.reshape(tf.equal(found, top_keys), [batch, k])
  # Ties above the threshold: non-relevant first (stable sorts: relevance up, then score down).
  by_relevance = tf.argsort(tf.cast(relevant, tf.int32), stable=True)
  by_score = tf.argsort(tf.gather(values, by_relevance, batch_dims=1),
                        direction="DESCENDING", stable=True)
  hits = tf.gather(tf.gather(relevant, by_relevance, batch_dims=1), by_score, batch_dims=1)
  # Slots holding the threshold, from row-wide counts at the threshold.
  at_threshold = tf.reduce_sum(tf.cast(tf.equal(values, threshold[:, None]), tf.int32), 1)
  if extra:
    at_threshold = tf.cond(
        tf.reduce_any(tf.equal(next_values, threshold)),
        lambda: tf.reduce_sum(tf.cast(tf.equal(scores, threshold[:, None]), tf.int32), 1),
        lambda: at_threshold)
  target_rows = target_keys // num_items
  target_scores = tf.gather_nd(scores, tf.stack([target_rows, target_keys % num_items], 1))
  targets_at_threshold = tf.math.unsorted_segment_sum(
      tf.cast(tf.equal(target_scores, tf.gather(threshold, target_rows)), tf.int32),
      target_rows, batch)
  num_above = tf.reduce_sum(tf.cast(values > threshold[:, None], tf.int32), 1)
  slot = tf.range(k)[None, :] - num_above[:, None]  # >= 0 in the slots holding the threshold
  tie_hits = ((slot >= (at_threshold - targets_at_threshold)[:, None])
              & (threshold > -np.inf)[:, None])
  return tf.where(slot >= 0, tie_hits, hits), has_nan


def _compile(score_tf, k: int, num_items: int, max_batch: int):
  """The batch function of `_ranked_hits` over `score_tf`, traced once per signature."""

  @tf.function(input_signature=[
      tf.TensorSpec([None], tf.int64),
      tf.SparseTensorSpec([None, num_items], tf.float32),
      tf.TensorSpec([None, 2], tf.int64),
      tf.TensorSpec([None], tf.int64)])
  def ranked(user_index, history, exclude, target_keys):
    scores = score_tf()(user_index, history)
    if scores.shape.rank != 2 or scores.shape[1] not in (None, num_items):
      raise ValueError(f"score_tf returned scores of shape {scores.shape}, expected "
                       f"[batch, {num_items}]")
    if not scores.dtype.is_floating:
      scores = tf.cast(scores, tf.float64)
    scores = _excluded(scores, exclude, max_batch)
    return _ranked_hits(tf.ensure_shape(scores, [None, num_items]), target_keys, k)

  return ranked


# scorer -> {(k, M): compiled function}; the functions reach the scorer through a weak
# reference, so a cached function never keeps a model alive.
_COMPILED = weakref.WeakKeyDictionary()


def _compiled(scorer, k: int, num_items: int, max_batch: int):
  """The compiled batch function of `scorer` for (k, M, batch), cached while the scorer lives."""
  key = (k, num_items, max_batch)
  try:
    functions = _COMPILED.setdefault(scorer, {})
  except TypeError:  # not weak-referenceable: compile for this scorer without caching
    return _compile(lambda: scorer.score_tf, *key)
  if key not in functions:
    scorer_ref = weakref.ref(scorer)
    functions[key] = _compile(lambda: scorer_ref().score_tf, *key)
  return functions[key]


class FullRanker:
  """Ranks batches of users over the whole catalogue with `scorer.score_tf`, top `k` only.

  >>> import scipy.sparse as sp, tensorflow as tf
  >>> from types import SimpleNamespace
  >>> from tfrankcf.metrics.topk import FullRanker
  >>> table = tf.constant([[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.3, 0.4]])
  >>> scorer = SimpleNamespace(score_tf=lambda user_index, history: tf.gather(table, user_index))
  >>> seen = sp.csr_matrix([[1., 0, 0, 0], [0, 0, 0, 1]])  # history, excluded from the ranking
  >>> held_out = sp.csr_matrix([[0., 1, 0, 0], [0, 0, 1, 0]])
  >>> ranker = FullRanker(scorer, k=2, num_items=4, max_batch=2)
  >>> ranker.hits([0, 1], seen, seen, held_out).astype(int).tolist()
  [[1, 0], [1, 0]]

  (With its history excluded, each user's held-out item ranks 1st.)
  """

  def __init__(self, scorer, k: int, num_items: int, max_batch: int):
    if not 1 <= k <= num_items:
      raise ValueError(f"k must be in [1, {num_items}], got {k}")
    self.scorer = scorer
    self.k = int(k)
    self.num_items = int(num_items)
    self.max_batch = int(max_batch)
    self._function = _compiled(scorer, self.k, self.num_items, self.max_batch)

  def hits(self, user_index: np.ndarray, history: sp.csr_matrix, exclude: sp.csr_matrix,
           targets: sp.csr_matrix) -> np.ndarray:
    """Pessimistic hits [b, k] of b <= max_batch users; `targets` binary, canonical."""
    if len(user_index) > self.max_batch:
      raise ValueError(f"{len(user_index)} users in a batch of at most {self.max_batch}")
    if not getattr(self.scorer, "uses_history", True):
      history = sp.csr_matrix(history.shape, dtype=np.float32)
    excluded_rows = _row_ids(exclude)
    nonzero = exclude.data != 0
    exclude_indices = np.stack([excluded_rows[nonzero],
                                exclude.indices[nonzero].astype(np.int64)], axis=1)
    target_keys = _row_ids(targets) * self.num_items + targets.indices.astype(np.int64)
    hits, has_nan = self._function(
        tf.constant(np.asarray(user_index, np.int64)), _sparse_tensor(history),
        tf.constant(exclude_indices.reshape(-1, 2)), tf.constant(target_keys))
    if has_nan.numpy():
      raise ValueError("scores contain NaN; cannot rank")
    return hits.numpy()

