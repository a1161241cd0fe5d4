"""Tests of the strong-generalisation protocol."""

import dataclasses
import hashlib
import os
import zipfile

import numpy as np
import pytest

from tfrankcf.datasets import REGISTRY, loader
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


# testdata/datasets/ml-1m_strong_ratings.dat (ML-1M's UserID::MovieID::Rating::Timestamp), by
# hand: each kept user's positives (ratings 4 and 5). Dropped: user 3 has 4 positives (and four
# 3-star ratings: `>= 3` would keep it), user 5 none. Movie 170 is only ever rated 2. Movies
# 110-140 are user 9's alone and 150 user 11's, 160 user 12's: in the item set only when that
# user trains; held out, user 9 keeps one item (20) and has no target.
ML1M_POSITIVES = {
    1: {10, 20, 30, 40, 50, 60}, 2: {10, 20, 30, 40, 50}, 4: {20, 30, 40, 50, 60, 70, 80},
    6: {10, 30, 50, 70, 90}, 7: {20, 40, 60, 80, 100},
    8: {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 9: {20, 110, 120, 130, 140},
    10: {30, 40, 50, 60, 70, 80}, 11: {10, 40, 70, 100, 150}, 12: {20, 50, 80, 90, 100, 160}}


def _ml1m_from_fixture(tmp_path, monkeypatch):
  """`ml1m` as registered (format, strong defaults), its archive holding the fixture."""
  fixture = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "datasets",
                         "ml-1m_strong_ratings.dat")
  (tmp_path / "ml1m").mkdir()
  archive = tmp_path / "ml1m" / "ml-1m.zip"
  with zipfile.ZipFile(archive, "w") as f:
    f.write(fixture, "ml-1m/ratings.dat")
  spec = loader.REGISTRY["ml1m"]
  remote = dataclasses.replace(spec.train[0].remote, md5=None, git_sha1=None,
                               sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
  monkeypatch.setitem(loader.REGISTRY, "ml1m", dataclasses.replace(
      spec, train=(dataclasses.replace(spec.train[0], remote=remote),)))
  return str(tmp_path)


def _whose(row_items, candidates):
  """The one user among `candidates` whose positives, within the split's items, are `row_items`."""
  matches = [user for user, items in candidates.items() if items == row_items]
  assert len(matches) == 1, (row_items, matches)
  return matches[0]


def test_ml1m_strong_is_the_mult_vae_preprocessing(tmp_path, monkeypatch):
  """`--dataset=ml1m --protocol=strong` on a ratings.dat fixture, against the split by hand."""
  from tfrankcf.training.config import RunConfig
  from tfrankcf.training.run import load_run_split
  data_dir = _ml1m_from_fixture(tmp_path, monkeypatch)
  # Split seed 10 holds out users 8 (10 items: 2 targets) and 9 (1 item left: fold-in only).
  config = RunConfig(method="ease", dataset="ml1m", protocol="strong", data_dir=data_dir,
                     seed=10, heldout_users=2)
  split = load_run_split(config)
  ids = split.item_ids.astype(int)
  sets = lambda matrix: [set(ids[matrix[row].indices]) for row in range(matrix.shape[0])]
  train_users = [_whose(items, ML1M_POSITIVES) for items in sets(split.train)]
  assert len(set(train_users)) == split.train.shape[0] == 6
  items = set().union(*(ML1M_POSITIVES[user] for user in train_users))
  assert set(ids) == items and len(ids) == len(items)  # only the training users' items
  within = {user: positives & items for user, positives in ML1M_POSITIVES.items()}
  heldout = []
  for part in (split.valid, split.test):
    assert part.num_users == 2
    for fold_in, targets in zip(sets(part.inputs), sets(part.targets)):
      user = _whose(fold_in | targets, within)
      heldout.append(user)
      assert not fold_in & targets
      n = len(within[user])
      assert len(targets) == (int(0.2 * n) if n >= 5 else 0)
  assert sorted(train_users + heldout) == sorted(ML1M_POSITIVES)  # users 3 and 5 dropped
  assert 9 in heldout and within[9] == {20}  # the fold-in-only case is exercised
  assert 8 in heldout
  assert split.info["positive_threshold"] == 4.0
  assert (split.info["min_user_items"], split.info["min_item_users"]) == (5, 0)
  assert split.info["train_interactions"] == sum(len(ML1M_POSITIVES[u]) for u in train_users)


def test_ml1m_strong_defaults_hold_out_600_users(tmp_path, monkeypatch):
  """Without --heldout_users the registry's 600 + 600 apply: too many for 10 users."""
  from tfrankcf.training.config import RunConfig
  from tfrankcf.training.run import load_run_split
  spec = REGISTRY["ml1m"]
  assert (spec.positive_threshold, spec.heldout_users) == (4.0, 600)
  assert spec.strong_options == {"min_user_items": 5, "min_item_users": 0}
  config = RunConfig(method="ease", dataset="ml1m", protocol="strong",
                     data_dir=_ml1m_from_fixture(tmp_path, monkeypatch))
  with pytest.raises(InputError, match="10 users left after filtering .* hold out 600 "):
    load_run_split(config)
