"""Leave-one-out protocols: the latest interaction is the test item, the one before it validation.

* `loo_sampled` (NCF, GuidedRec, RaCT Table 7): each held-out item is ranked
  against 99 items the user never interacted with, sampled once with the seed
  and stored with the split.
* `loo_full` (APR): each held-out item is ranked against every item outside the
  user's known history.

Every interaction is a positive. Repeated (user, item) pairs are merged into
their earliest occurrence (APR §4.1), so a held-out item never also sits in
the training row. The order is by timestamp, ties (and files without
timestamps) broken by position in the file. Users with fewer than three
distinct items stay in training and are not evaluated.
"""

import numpy as np
import scipy.sparse as sp

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.split import EvalSet, Split

MIN_ITEMS_PER_EVALUATED_USER = 3


def _csr(users, items, shape) -> sp.csr_matrix:
  matrix = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)),
                         shape=shape)
  matrix.sum_duplicates()
  matrix.data[:] = 1.0
  matrix.sort_indices()
  return matrix


def _latest_positions(data: Interactions):
  """Deduplicated events sorted by (user, time, file position); position from the end per user."""
  order = np.arange(len(data))
  times = data.timestamps if data.timestamps is not None else order
  # Earliest occurrence of each (user, item) pair.
  by_pair_time = np.lexsort((order, times, data.items, data.users))
  users, items = data.users[by_pair_time], data.items[by_pair_time]
  first = np.ones(len(users), bool)
  first[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
  kept = by_pair_time[first]
  # Chronological order per user.
  kept = kept[np.lexsort((order[kept], times[kept], data.users[kept]))]
  users, items = data.users[kept], data.items[kept]
  counts = np.bincount(users, minlength=data.num_users)
  user_end = np.cumsum(counts)
  from_end = user_end[users] - np.arange(len(users)) - 1  # 0 = latest
  return users, items, counts, from_end


def sample_negatives(known: sp.csr_matrix, rows: np.ndarray, count: int,
                     rng: np.random.Generator) -> np.ndarray:
  """`count` distinct items per row of `known[rows]` that the user never interacted with."""
  num_items = known.shape[1]
  out = np.empty((len(rows), count), np.int64)
  for position, row in enumerate(rows):
    seen = known.indices[known.indptr[row]:known.indptr[row + 1]]
    if num_items - len(seen) < count:
      raise InputError(
          f"user {row} has only {num_items - len(seen)} unseen items, "
          f"fewer than the {count} negatives the protocol samples")
    if len(seen) > num_items // 2:  # dense history: sample from the complement
      out[position] = rng.choice(np.setdiff1d(np.arange(num_items), seen),
                                 count, replace=False)
      continue
    chosen = np.empty(0, np.int64)
    while len(chosen) < count:
      draw = rng.integers(0, num_items, 2 * count)
      draw = draw[~np.isin(draw, seen)]
      _, first = np.unique(draw, return_index=True)
      draw = draw[np.sort(first)]
      chosen = np.concatenate([chosen, draw[~np.isin(draw, chosen)]])
    out[position] = chosen[:count]
  return out


def leave_one_out(data: Interactions, seed: int, num_negatives: int | None) -> Split:
  """Shared body of `loo_sampled` (num_negatives=99) and `loo_full` (None)."""
  users, items, counts, from_end = _latest_positions(data)
  shape = (data.num_users, data.num_items)
  evaluated = np.flatnonzero(counts >= MIN_ITEMS_PER_EVALUATED_USER)
  if len(evaluated) == 0:
    raise InputError(f"no user has {MIN_ITEMS_PER_EVALUATED_USER} or more "
                     "distinct items: nothing to hold out", path=data.name)
  is_eval_user = counts[users] >= MIN_ITEMS_PER_EVALUATED_USER
  test_event = is_eval_user & (from_end == 0)
  valid_event = is_eval_user & (from_end == 1)
  train_event = ~(test_event | valid_event)

  train = _csr(users[train_event], items[train_event], shape)
  known = _csr(users, items, shape)
  valid_item = np.empty(data.num_users, np.int64)
  valid_item[users[valid_event]] = items[valid_event]
  test_item = np.empty(data.num_users, np.int64)
  test_item[users[test_event]] = items[test_event]

  def one_hot(item_of_user):
    return _csr(np.arange(len(evaluated)), item_of_user[evaluated],
                (len(evaluated), data.num_items))

  valid_targets = one_hot(valid_item)
  test_targets = one_hot(test_item)
  train_rows = train[evaluated]
  history_for_test = (train_rows + valid_targets).tocsr()
  history_for_test.data[:] = 1.0

  valid_candidates = test_candidates = None
  if num_negatives is not None:
    rng = np.random.default_rng(seed)
    valid_negatives = sample_negatives(known, evaluated, num_negatives, rng)
    test_negatives = sample_negatives(known, evaluated, num_negatives, rng)
    valid_candidates = np.concatenate(
        [valid_item[evaluated, None], valid_negatives], axis=1)
    test_candidates = np.concatenate(
        [test_item[evaluated, None], test_negatives], axis=1)

  protocol = "loo_sampled" if num_negatives is not None else "loo_full"
  return Split(
      train=train,
      valid=EvalSet(user_index=evaluated.astype(np.int64), inputs=train_rows,
                    targets=valid_targets, exclude=train_rows,
                    candidates=valid_candidates),
      test=EvalSet(user_index=evaluated.astype(np.int64),
                   inputs=history_for_test, targets=test_targets,
                   exclude=history_for_test, candidates=test_candidates),
      protocol=protocol,
      item_ids=data.item_ids,
      info={"protocol": protocol, "seed": int(seed),
            "num_negatives": num_negatives,
            "users": int(data.num_users), "items": int(data.num_items),
            "evaluated_users": int(len(evaluated)),
            "train_interactions": int(train.nnz)})


def loo_sampled(data: Interactions, seed: int, num_negatives: int = 99) -> Split:
  """Leave-one-out, each held-out item ranked against `num_negatives` sampled unseen items."""
  return leave_one_out(data, seed, num_negatives)


def loo_full(data: Interactions, seed: int) -> Split:
  """Leave-one-out, each held-out item ranked against all items outside the history."""
  return leave_one_out(data, seed, None)
