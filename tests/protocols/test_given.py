"""Tests of the `given` protocol (a user's own train and test files)."""

import dataclasses
import json
import logging

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


def _sorted_by_item(num_users=200, items_per_user=10, timestamps=False, seed=0):
  """A LightGCN-style file: each user's rows in increasing item id, optionally timestamped."""
  rng = np.random.default_rng(seed)
  users, items, times = [], [], []
  for user in range(num_users):
    chosen = np.sort(rng.choice(50, items_per_user, replace=False))
    users += [user] * items_per_user
    items += chosen.tolist()
    times += rng.permutation(items_per_user).tolist()  # time unrelated to the item id
  return Interactions.from_raw(users, items, timestamps=times if timestamps else None,
                               name="train.txt")


def _test_file(train):
  return Interactions(users=np.arange(train.num_users), items=np.full(train.num_users, 50),
                      ratings=None, timestamps=None, user_ids=train.user_ids,
                      item_ids=np.append(train.item_ids, 50))


def _with_catalogue(train):
  """`train` with one extra item (50) that only the test file holds."""
  return dataclasses.replace(train, item_ids=np.append(train.item_ids, 50))


def _rows(train):
  return [train.items[train.users == user] for user in range(train.num_users)]


def test_no_timestamps_validates_on_a_seeded_random_item():
  """File order is not time: the old rule took the last line, each user's highest item id."""
  train = _with_catalogue(_sorted_by_item())
  split = given(train, _test_file(train), seed=3)
  rows = _rows(train)
  picked = split.valid.targets.indices
  assert split.valid.num_users == train.num_users
  highest = [picked[row] == rows[user].max() for row, user in enumerate(split.valid.user_index)]
  assert np.mean(highest) < 0.25  # 1 in 10 expected; the last-line rule gives 1.0
  assert split.info["validation_item"] == "random"
  for row, user in enumerate(split.valid.user_index):
    assert picked[row] in rows[user]
    assert picked[row] not in split.train[user].indices  # held out of training
    assert split.train[user].nnz == len(rows[user]) - 1
  positions = [np.flatnonzero(rows[user] == picked[row])[0]
               for row, user in enumerate(split.valid.user_index)]
  assert len(set(positions)) == 10  # every position of the user's rows is drawn
  again = given(train, _test_file(train), seed=3)
  np.testing.assert_array_equal(again.valid.targets.indices, picked)
  other = given(train, _test_file(train), seed=4)
  assert np.any(other.valid.targets.indices != picked)


def test_timestamps_validate_on_the_latest_item():
  train = _with_catalogue(_sorted_by_item(timestamps=True))
  split = given(train, _test_file(train), seed=3)
  assert split.info["validation_item"] == "latest"
  for row, user in enumerate(split.valid.user_index):
    mine = train.users == user
    latest = train.items[mine][np.argmax(train.timestamps[mine])]
    assert split.valid.targets[row].indices.tolist() == [latest]
  other = given(train, _test_file(train), seed=4)
  np.testing.assert_array_equal(other.valid.targets.indices, split.valid.targets.indices)


def test_one_time_for_every_row_is_no_timestamps():
  train = _with_catalogue(_sorted_by_item())
  train = dataclasses.replace(train, timestamps=np.zeros(len(train), np.int64))
  split = given(train, _test_file(train), seed=3)
  assert split.info["validation_item"] == "random"
  no_time = given(dataclasses.replace(train, timestamps=None), _test_file(train), seed=3)
  np.testing.assert_array_equal(split.valid.targets.indices, no_time.valid.targets.indices)


def test_users_with_one_item_are_not_validated_without_timestamps():
  train = Interactions.from_raw([0, 1, 1, 1], [0, 0, 1, 2], name="train.txt")
  test = Interactions(users=np.array([0, 1]), items=np.array([3, 3]), ratings=None,
                      timestamps=None, user_ids=train.user_ids,
                      item_ids=np.append(train.item_ids, 3))
  train = dataclasses.replace(train, item_ids=test.item_ids)
  split = given(train, test, seed=0)
  assert split.valid.user_index.tolist() == [1]
  assert split.train[0].indices.tolist() == [0]


def test_the_rule_is_in_results_json_and_the_log(tmp_path, caplog):
  from tfrankcf.training.config import RunConfig
  from tfrankcf.training.run import run_closed_form
  train = tmp_path / "train.txt"
  test = tmp_path / "test.txt"
  # Each user's rows in item id order; user u's test item is 8 + u % 2.
  train.write_text("".join(f"{u}\t{i}\n" for u in range(1, 6) for i in range(1, 10)
                           if i != 8 + u % 2))
  test.write_text("".join(f"{u}\t{8 + u % 2}\n" for u in range(1, 6)))
  config = RunConfig(method="itempop", dataset=str(train), test_file=str(test),
                     protocol="given", data_dir=str(tmp_path / "cache"),
                     output_dir=str(tmp_path / "run"))
  with caplog.at_level(logging.INFO):
    results = run_closed_form(config)
  assert results["split"]["validation_item"] == "random"
  assert "given: validation item = a random training item per user" in caplog.text
  with open(tmp_path / "run" / "results.json") as f:
    assert json.load(f)["split"]["validation_item"] == "random"
