"""Tests of the `given` protocol (a user's own train and test files)."""

import numpy as np
import pytest

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.given import given


def test_test_file_full_ranking_and_validation_from_train():
  train = Interactions.from_raw([0, 0, 0, 1, 1], [0, 1, 2, 0, 3], timestamps=[1, 2, 3, 1, 2])
  test_users = np.array([0, 1, 1])
  test_items = np.array([3, 1, 3])  # (1, 3) is already a training pair: dropped
  test = Interactions(users=test_users, items=test_items, ratings=None, timestamps=None,
                      user_ids=train.user_ids, item_ids=train.item_ids)
  split = given(train, test, seed=0)
  assert split.test.targets[0].indices.tolist() == [3]
  assert split.test.targets[1].indices.tolist() == [1]
  assert set(split.test.exclude[0].indices) == {0, 1, 2}
  assert split.valid.targets.indices.tolist() == [2, 3]  # latest training item per user
  assert set(split.train[0].indices) == {0, 1}
  assert split.test.candidates is None


def test_needs_a_test_split():
  train = Interactions.from_raw([0, 0], [0, 1], name="train.tsv")
  with pytest.raises(InputError, match="--test_file"):
    given(train, None, seed=0)
