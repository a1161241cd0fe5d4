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
