"""Tests of the leave-one-out protocols on a hand-made log."""

import numpy as np
import pytest

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.leave_one_out import loo_full, loo_sampled, sample_negatives


def _log():
  # user a: items 1..5 at times 10..50, item 2 repeated late (merged to its first time).
  # user b: items 1, 3, 6 with a timestamp tie between 3 and 6 (file order wins: 6 is latest).
  # user c: only two items -> stays in training, not evaluated.
  rows = [("a", 1, 10), ("a", 2, 20), ("a", 3, 30), ("a", 4, 40), ("a", 5, 50),
          ("a", 2, 60), ("b", 1, 5), ("b", 3, 7), ("b", 6, 7), ("c", 1, 1), ("c", 2, 2)]
  users, items, times = zip(*rows)
  items = [str(i) for i in items]
  return Interactions.from_raw(users, items, timestamps=times, name="log")


def _item(data, raw):
  return int(np.flatnonzero(data.item_ids == str(raw))[0])


def test_latest_is_test_second_latest_is_valid():
  data = _log()
  split = loo_full(data, seed=0)
  assert list(split.valid.user_index) == [0, 1]  # a and b; c has 2 items
  assert split.test.targets[0].indices.tolist() == [_item(data, 5)]
  assert split.valid.targets[0].indices.tolist() == [_item(data, 4)]
  # Timestamp tie between items 3 and 6 of user b: the later row in the file is latest.
  assert split.test.targets[1].indices.tolist() == [_item(data, 6)]
  assert split.valid.targets[1].indices.tolist() == [_item(data, 3)]


def test_train_holds_the_rest_and_no_leak():
  data = _log()
  split = loo_full(data, seed=0)
  train_a = set(split.train[0].indices)
  assert train_a == {_item(data, 1), _item(data, 2), _item(data, 3)}
  assert set(split.train[2].indices) == {_item(data, 1), _item(data, 2)}  # user c
  for part in (split.valid, split.test):
    overlap = part.targets.multiply(split.train[part.user_index])
    assert overlap.nnz == 0


def test_full_ranking_excludes_history_and_valid_item_at_test():
  data = _log()
  split = loo_full(data, seed=0)
  assert split.valid.candidates is None
  assert set(split.valid.exclude[0].indices) == set(split.train[0].indices)
  assert set(split.test.exclude[0].indices) == set(split.train[0].indices) | {_item(data, 4)}
  assert set(split.test.inputs[0].indices) == set(split.test.exclude[0].indices)


def test_sampled_candidates_are_target_plus_unseen_negatives():
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(30), 12)
  items = rng.integers(0, 200, len(users))
  data = Interactions.from_raw(users, items, timestamps=np.arange(len(users)))
  split = loo_sampled(data, seed=3, num_negatives=20)
  known = data.to_csr()
  for part in (split.valid, split.test):
    assert part.candidates.shape == (part.num_users, 21)
    assert np.all(part.candidates[:, 0] == part.targets.indices)
    for row, user in enumerate(part.user_index):
      negatives = part.candidates[row, 1:]
      assert len(set(negatives)) == 20
      assert not set(negatives) & set(known[user].indices)


def test_deterministic_in_seed():
  rng = np.random.default_rng(1)
  users = np.repeat(np.arange(20), 10)
  data = Interactions.from_raw(users, rng.integers(0, 300, len(users)),
                               timestamps=np.arange(len(users)))
  first = loo_sampled(data, seed=5)
  again = loo_sampled(data, seed=5)
  other = loo_sampled(data, seed=6)
  np.testing.assert_array_equal(first.test.candidates, again.test.candidates)
  assert not np.array_equal(first.test.candidates, other.test.candidates)


def test_sample_negatives_dense_history_and_too_few():
  known = Interactions.from_raw([0] * 8 + [1], list(range(8)) + [0]).to_csr()
  negatives = sample_negatives(known, np.array([1]), 7, np.random.default_rng(0))
  assert sorted(negatives[0]) == list(range(1, 8))
  with pytest.raises(InputError, match="unseen items"):
    sample_negatives(known, np.array([0]), 1, np.random.default_rng(0))


def test_no_evaluable_user_is_an_input_error():
  data = Interactions.from_raw([0, 0, 1], [0, 1, 0], name="tiny.csv")
  with pytest.raises(InputError, match="tiny.csv"):
    loo_full(data, seed=0)
