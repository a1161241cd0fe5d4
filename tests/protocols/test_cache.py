"""Tests of split caching: identical splits on reload, keyed by data, protocol, options and seed."""

import os

import numpy as np

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.protocols import make_split


def _data(seed=0):
  rng = np.random.default_rng(seed)
  users = np.repeat(np.arange(40), 15)
  return Interactions.from_raw(users, rng.integers(0, 300, len(users)),
                               ratings=rng.integers(1, 6, len(users)),
                               timestamps=np.arange(len(users)), name="synthetic")


def test_cached_split_is_identical(tmp_path):
  data = _data()
  first = make_split("loo_sampled", data, 3, cache_dir=str(tmp_path), num_negatives=50)
  files = os.listdir(tmp_path)
  assert len(files) == 1
  again = make_split("loo_sampled", data, 3, cache_dir=str(tmp_path), num_negatives=50)
  assert again.info["cache_path"] == first.info["cache_path"]
  assert (again.train != first.train).nnz == 0
  for part in ("valid", "test"):
    a, b = getattr(first, part), getattr(again, part)
    np.testing.assert_array_equal(a.candidates, b.candidates)
    np.testing.assert_array_equal(a.user_index, b.user_index)
    for field in ("inputs", "targets", "exclude"):
      assert (getattr(a, field) != getattr(b, field)).nnz == 0


def test_key_changes_with_seed_options_and_data(tmp_path):
  data = _data()
  make_split("strong", data, 0, cache_dir=str(tmp_path), positive_threshold=4.0, heldout_users=5)
  make_split("strong", data, 1, cache_dir=str(tmp_path), positive_threshold=4.0, heldout_users=5)
  make_split("strong", data, 0, cache_dir=str(tmp_path), positive_threshold=3.0, heldout_users=5)
  make_split("strong", _data(1), 0, cache_dir=str(tmp_path), positive_threshold=4.0,
             heldout_users=5)
  assert len(os.listdir(tmp_path)) == 4


def test_unknown_protocol():
  import pytest
  from tfrankcf.errors import InputError
  with pytest.raises(InputError, match="unknown protocol"):
    make_split("random", _data(), 0)


def _write(path, header, item_prefix=""):
  rows = [f"{u},{item_prefix}{i},{1 + (u * i) % 5}" for u in range(1, 11) for i in range(1, 9)]
  path.write_text(("user,item,rating\n" if header else "") + "\n".join(rows) + "\n")
  return str(path)


def test_a_cached_split_names_the_file_of_the_run(tmp_path):
  """Same contents, one file with a header row: one cached split, each run names its own file."""
  from tfrankcf.datasets import load_dataset
  plain = _write(tmp_path / "plain.csv", header=False)
  headed = _write(tmp_path / "headed.csv", header=True)
  copy = _write(tmp_path / "copy.csv", header=False)
  cache = str(tmp_path / "splits")
  splits = {path: make_split("loo_full", load_dataset(path).interactions, 0, cache_dir=cache)
            for path in (plain, headed, copy)}
  assert len(os.listdir(cache)) == 1  # identical contents share the split
  for path, split in splits.items():
    assert split.info["dataset"] == path
  assert (splits[headed].train != splits[plain].train).nnz == 0
  reloaded = make_split("loo_full", load_dataset(headed).interactions, 0, cache_dir=cache)
  assert reloaded.info["dataset"] == headed


def test_other_raw_ids_are_another_split(tmp_path):
  """Same event structure under other item ids: not the cached split of the first file."""
  from tfrankcf.datasets import load_dataset
  cache = str(tmp_path / "splits")
  first = make_split("loo_full", load_dataset(_write(tmp_path / "a.csv", False)).interactions,
                     0, cache_dir=cache)
  other = make_split("loo_full",
                     load_dataset(_write(tmp_path / "b.csv", False, "m")).interactions,
                     0, cache_dir=cache)
  assert len(os.listdir(cache)) == 2
  assert [str(i) for i in first.item_ids] == [str(i) for i in range(1, 9)]
  assert [str(i) for i in other.item_ids] == [f"m{i}" for i in range(1, 9)]


def test_given_records_both_files(tmp_path):
  from tfrankcf.datasets import load_dataset
  train = tmp_path / "train.csv"
  train.write_text("".join(f"{u},{i}\n" for u in range(1, 6) for i in range(1, 6) if i != u))
  train = str(train)
  test = tmp_path / "test.csv"
  test.write_text("1,1\n2,2\n")
  cache = str(tmp_path / "splits")
  for _ in range(2):  # made, then loaded from the cache
    loaded = load_dataset(train, test_file=str(test))
    split = make_split("given", loaded.interactions, 0, loaded.test_interactions,
                       cache_dir=cache)
    assert (split.info["dataset"], split.info["test_dataset"]) == (train, str(test))
