"""Triplets: every training pair once per epoch, negatives uniform over non-items, seeded."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.inputs.triplets import Triplets


def _matrix():
  rng = np.random.default_rng(0)
  dense = (rng.random((13, 9)) < 0.5).astype(np.float32)
  dense[2] = 1.0
  dense[2, 4] = 0.0  # user 2 has a single non-item: item 4
  dense[5] = 0.0  # a user without items
  return sp.csr_matrix(dense)


def _epoch(triplets, epoch):
  batches = list(triplets(epoch).as_numpy_iterator())
  return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}, batches


def test_epoch_covers_every_pair_once_and_negatives_are_non_items():
  matrix = _matrix()
  triplets = Triplets(matrix, batch_size=8, seed=3, drop_remainder=False)
  dense = matrix.toarray() > 0
  for epoch in range(3):
    data, batches = _epoch(triplets, epoch)
    assert [len(b["user_index"]) for b in batches[:-1]] == [8] * (len(batches) - 1)
    pairs = sorted(zip(data["user_index"], data["positive"]))
    assert pairs == sorted(zip(*matrix.nonzero()))
    assert not dense[data["user_index"], data["negative"]].any()
    assert np.all(data["negative"][data["user_index"] == 2] == 4)


def test_drop_remainder_drops_the_last_batch():
  triplets = Triplets(_matrix(), batch_size=8, seed=3)
  data, batches = _epoch(triplets, 0)
  assert triplets.batches_per_epoch == len(batches) == triplets.num_pairs // 8
  assert len(data["user_index"]) == triplets.examples_per_epoch


def test_determinism_by_seed_and_epoch():
  matrix = _matrix()
  first, _ = _epoch(Triplets(matrix, batch_size=8, seed=1), 0)
  again, _ = _epoch(Triplets(matrix, batch_size=8, seed=1), 0)
  for key in first:
    np.testing.assert_array_equal(first[key], again[key])
  other_epoch, _ = _epoch(Triplets(matrix, batch_size=8, seed=1), 1)
  other_seed, _ = _epoch(Triplets(matrix, batch_size=8, seed=2), 0)
  assert not np.array_equal(first["user_index"], other_epoch["user_index"])
  assert not np.array_equal(first["negative"], other_seed["negative"])


def test_negatives_are_uniform_over_non_items():
  dense = np.zeros((1, 6), np.float32)
  dense[0, [0, 2, 3]] = 1.0  # non-items 1, 4, 5
  triplets = Triplets(sp.csr_matrix(dense))
  negatives = triplets.negatives.sample(tf.zeros([6000], tf.int64),
                                        tf.constant([0, 1], tf.int64)).numpy()
  counts = np.bincount(negatives, minlength=6)
  assert counts[[0, 2, 3]].sum() == 0
  np.testing.assert_allclose(counts[[1, 4, 5]] / negatives.size, 1 / 3, atol=0.02)


def test_a_user_with_every_item_is_an_input_error():
  with pytest.raises(InputError, match="user 1"):
    Triplets(sp.csr_matrix(np.array([[1, 0], [1, 1]], np.float32)))


@pytest.mark.parametrize("drop_remainder", [True, False])
def test_chunks_hold_the_epoch_batches_and_draw_their_negatives(drop_remainder):
  """`chunks` cuts the same batches into elements of `steps`; `negatives_for` redraws them."""
  triplets = Triplets(_matrix(), batch_size=8, seed=3, drop_remainder=drop_remainder)
  _, batches = _epoch(triplets, 1)
  chunks = list(triplets.chunks(1, steps=3))
  full = triplets.num_pairs // 8
  # full batches in elements of 3 (the last holds the rest), then the incomplete batch alone
  expected_steps = [3] * (full // 3) + ([full % 3] if full % 3 else [])
  if not drop_remainder:
    expected_steps.append(1)
  assert [int(c["user_index"].shape[0]) for c in chunks] == expected_steps
  rows = [(c["user_index"][s], c["positive"][s], c["batch_index"][s], c["epoch_seed"])
          for c in chunks for s in range(int(c["user_index"].shape[0]))]
  assert len(rows) == len(batches)
  for index, (batch, (users, positives, batch_index, seed)) in enumerate(zip(batches, rows)):
    assert int(batch_index) == index
    np.testing.assert_array_equal(users, batch["user_index"])
    np.testing.assert_array_equal(positives, batch["positive"])
    negatives = triplets.negatives_for(users, seed, batch_index)
    np.testing.assert_array_equal(negatives, batch["negative"])
    # the stream of NegativeSampler (the tf.data pipeline before issue 20)
    np.testing.assert_array_equal(negatives, triplets.negatives.sample(
        users, tf.random.experimental.stateless_fold_in(seed, batch_index)))


def test_steps_per_element_makes_calls_give_chunks():
  triplets = Triplets(_matrix(), batch_size=8, seed=3, steps_per_element=2)
  element = next(iter(triplets(0)))
  assert set(element) == {"user_index", "positive", "batch_index", "epoch_seed"}
  assert element["user_index"].shape == (2, 8)
  np.testing.assert_array_equal(element["epoch_seed"], [3, 0])
  assert triplets(0).cardinality() == -(-triplets.batches_per_epoch // 2)
