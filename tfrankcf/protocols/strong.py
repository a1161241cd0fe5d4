"""Strong generalisation (Mult-VAE, RaCT, CF-SFL): validation and test users are unseen in training.

Follows the Mult-VAE reference preprocessing (notes/originals.md §1.1):
binarise ratings, drop items with fewer than `min_item_users` users then users
with fewer than `min_user_items` items (one pass, in that order), hold out
disjoint validation and test users, keep only items seen in training users,
and split each held-out user's items into fold-in (model input) and held-out
(targets) parts. Held-out users with fewer than 5 items after the item
restriction keep everything as fold-in and have no target (they are counted,
not scored).

Where it differs from the reference code (for every dataset):
* `positive_threshold` keeps ratings >= it, the code ratings > 3.5: the same
  rows (4 and 5 stars) on the whole-star and ML-20M half-star scales.
* Users are permuted and held-out items drawn with `np.random.default_rng(seed)`,
  one stream for the whole split; the code seeds the legacy global generator
  with 98765 and reseeds it before each fold-in split. So the same filters hold
  out other users and items than the code's published splits: to evaluate on
  one of those, read it with `load_vaecf_split` (`--dataset=DIR`).
* Item columns are in raw-id order, not order of first appearance: the same
  split with its columns relabelled.
"""

import numpy as np
import scipy.sparse as sp

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.split import EvalSet, Split

MIN_ITEMS_FOR_TARGETS = 5


def _heldout_count(option, num_users: int) -> int:
  """An absolute user count, or a fraction of users when below 1."""
  if option < 1:
    return int(round(option * num_users))
  return int(option)


def fold_in_split(rows: sp.csr_matrix, fraction: float, rng: np.random.Generator):
  """Splits each row's items into (fold-in, held-out); `int(fraction * n)` held out if n >= 5."""
  rows = rows.tocsr()
  keep = np.ones(rows.nnz, bool)
  for row in range(rows.shape[0]):
    start, end = rows.indptr[row], rows.indptr[row + 1]
    n = end - start
    if n >= MIN_ITEMS_FOR_TARGETS:
      held = rng.choice(n, int(fraction * n), replace=False)
      keep[start + held] = False
  def part(mask):
    matrix = rows.copy()
    matrix.data = np.where(mask, 1.0, 0.0).astype(np.float32)
    matrix.eliminate_zeros()
    return matrix
  return part(keep), part(~keep)


def strong(data: Interactions, seed: int, positive_threshold: float | None = 4.0,
           min_user_items: int = 5, min_item_users: int = 0,
           heldout_users: float = 0.1, heldout_fraction: float = 0.2) -> Split:
  """Strong-generalisation split of `data`.

  Args:
    positive_threshold: ratings >= this are positives (None: every row is).
    min_user_items, min_item_users: the one-pass filters (items first).
    heldout_users: validation users and again test users, a count (>= 1) or a
      fraction of the users left after filtering.
    heldout_fraction: share of a held-out user's items that become targets.
  """
  users, items = data.users, data.items
  if positive_threshold is not None and data.ratings is not None:
    positive = data.ratings >= positive_threshold
    users, items = users[positive], items[positive]
  matrix = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)),
                         shape=(data.num_users, data.num_items))
  matrix.sum_duplicates()
  matrix.data[:] = 1.0
  if min_item_users > 0:
    item_users = np.asarray(matrix.sum(axis=0)).ravel()
    matrix = matrix[:, item_users >= min_item_users]  # columns renumbered below
    kept_item_ids = data.item_ids[item_users >= min_item_users]
  else:
    kept_item_ids = data.item_ids
  matrix = matrix.tocsr()
  user_items = np.diff(matrix.indptr)
  kept_users = np.flatnonzero(user_items >= min_user_items)
  matrix = matrix[kept_users]
  num_users = matrix.shape[0]
  n_heldout = _heldout_count(heldout_users, num_users)
  if num_users - 2 * n_heldout < 1 or n_heldout < 1:
    raise InputError(
        f"{num_users} users left after filtering (>= {min_user_items} positives): "
        f"too few to hold out {n_heldout} validation and {n_heldout} test users",
        path=data.name)

  rng = np.random.default_rng(seed)
  permutation = rng.permutation(num_users)
  train_users = permutation[:num_users - 2 * n_heldout]
  valid_users = np.sort(permutation[num_users - 2 * n_heldout:num_users - n_heldout])
  test_users = np.sort(permutation[num_users - n_heldout:])

  train = matrix[train_users]
  seen_items = np.flatnonzero(np.asarray(train.sum(axis=0)).ravel() > 0)
  train = train[:, seen_items].tocsr()

  def eval_set(rows_of_users) -> EvalSet:
    rows = matrix[rows_of_users][:, seen_items].tocsr()
    fold_in, held_out = fold_in_split(rows, heldout_fraction, rng)
    return EvalSet(user_index=np.full(len(rows_of_users), -1, np.int64),
                   inputs=fold_in, targets=held_out, exclude=fold_in)

  valid, test = eval_set(valid_users), eval_set(test_users)
  train.sort_indices()
  return Split(
      train=train, valid=valid, test=test, protocol="strong",
      item_ids=kept_item_ids[seen_items],
      info={"protocol": "strong", "seed": int(seed),
            "positive_threshold": positive_threshold,
            "min_user_items": min_user_items, "min_item_users": min_item_users,
            "heldout_users": n_heldout, "heldout_fraction": heldout_fraction,
            "train_users": int(train.shape[0]), "items": int(train.shape[1]),
            "train_interactions": int(train.nnz)})
