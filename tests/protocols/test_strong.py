"""Tests of the strong-generalisation protocol."""

import numpy as np
import pytest

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.strong import fold_in_split, strong


def _ratings(num_users=60, num_items=80, seed=0):
  rng = np.random.default_rng(seed)
  users, items, ratings = [], [], []
  for user in range(num_users):
    chosen = rng.choice(num_items, rng.integers(3, 30), replace=False)
    users += [user] * len(chosen)
    items += list(chosen)
    ratings += list(rng.integers(1, 6, len(chosen)))
  return Interactions.from_raw(users, items, ratings=ratings)


def test_users_are_disjoint_and_threshold_applied():
  data = _ratings()
  split = strong(data, seed=0, positive_threshold=4, heldout_users=0.2)
  positives = data.to_csr()
  assert split.valid.num_users == split.test.num_users == round(0.2 * _kept_users(data))
  assert split.train.shape[0] + 2 * split.valid.num_users == _kept_users(data)
  assert np.all(split.valid.user_index == -1)
  total = split.train.nnz + sum(p.inputs.nnz + p.targets.nnz for p in (split.valid, split.test))
  assert total <= positives.nnz


def _kept_users(data):
  positive = data.ratings >= 4
  counts = np.bincount(data.users[positive], minlength=data.num_users)
  return int(np.sum(counts >= 5))


def test_items_restricted_to_training_users_and_fold_in_split():
  data = _ratings()
  split = strong(data, seed=1, positive_threshold=4, heldout_users=0.2)
  assert np.all(np.asarray(split.train.sum(axis=0)).ravel() > 0)
  for part in (split.valid, split.test):
    assert part.inputs.multiply(part.targets).nnz == 0
    sizes = np.diff(part.inputs.indptr) + np.diff(part.targets.indptr)
    held = np.diff(part.targets.indptr)
    np.testing.assert_array_equal(held, np.where(sizes >= 5, (0.2 * sizes).astype(int), 0))
    assert (part.exclude != part.inputs).nnz == 0


def test_fold_in_split_counts():
  import scipy.sparse as sp
  rows = sp.csr_matrix(np.array([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]],
                                np.float32))
  fold_in, held_out = fold_in_split(rows, 0.2, np.random.default_rng(0))
  assert held_out[0].nnz == 2 and fold_in[0].nnz == 8
  assert held_out[1].nnz == 0 and fold_in[1].nnz == 3


def test_min_counts_and_too_few_users():
  data = _ratings(num_users=8)
  with pytest.raises(InputError, match="too few"):
    strong(data, seed=0, heldout_users=4)


def test_deterministic_in_seed():
  data = _ratings()
  a, b = strong(data, seed=2), strong(data, seed=2)
  assert (a.train != b.train).nnz == 0
  assert (a.test.targets != b.test.targets).nnz == 0
