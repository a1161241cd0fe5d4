"""ListwiseSampler: B_L users x K items, positives from the row, negatives off it, seeded."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfrankcf.errors import InputError
from tfrankcf.inputs.listwise import ListwiseSampler


def _matrix():
  rng = np.random.default_rng(0)
  dense = (rng.random((12, 9)) < 0.4).astype(np.float32)
  dense[2] = 1.0
  dense[2, 4] = 0.0  # user 2's only non-item is item 4
  dense[5] = 0.0  # a user without items is never drawn
  dense[7] = 0.0
  dense[7, 3] = 1.0  # a user with one item
  return sp.csr_matrix(dense)


def _batches(sampler, epoch):
  return list(sampler(epoch).as_numpy_iterator())


def test_shapes_labels_positives_and_negatives():
  matrix = _matrix()
  dense = matrix.toarray() > 0
  sampler = ListwiseSampler(matrix, lists_per_batch=6, list_size=10, seed=1)
  assert sampler.batches_per_epoch == matrix.nnz // (6 * 5)
  batches = _batches(sampler, 0)
  assert len(batches) == sampler.batches_per_epoch
  for batch in batches:
    users, items, labels = batch["user_index"], batch["items"], batch["labels"]
    assert users.shape == (6,) and items.shape == (6, 10) and labels.shape == (6, 10)
    np.testing.assert_array_equal(labels, np.repeat([[1] * 5 + [0] * 5], 6, axis=0))
    assert dense[users].any(axis=1).all()  # users without items are skipped
    hits = dense[users[:, None], items]
    assert hits[:, :5].all() and not hits[:, 5:].any()
  drawn = np.concatenate([b["user_index"] for b in batches])
  assert 5 not in drawn
  negatives_of_2 = np.concatenate([b["items"][b["user_index"] == 2, 5:].ravel()
                                   for b in batches])
  assert set(negatives_of_2) <= {4}


def test_odd_split_of_positives_and_epoch_length_flag():
  sampler = ListwiseSampler(_matrix(), lists_per_batch=3, list_size=4, num_positives=1,
                            batches_per_epoch=2)
  batches = _batches(sampler, 0)
  assert len(batches) == 2 and sampler.examples_per_epoch == 6
  np.testing.assert_array_equal(batches[0]["labels"][0], [1, 0, 0, 0])


def test_epochs_are_reproducible_by_seed_and_differ_between_epochs():
  matrix = _matrix()
  first = _batches(ListwiseSampler(matrix, lists_per_batch=4, seed=7), 3)
  again = _batches(ListwiseSampler(matrix, lists_per_batch=4, seed=7), 3)
  other_epoch = _batches(ListwiseSampler(matrix, lists_per_batch=4, seed=7), 4)
  other_seed = _batches(ListwiseSampler(matrix, lists_per_batch=4, seed=8), 3)
  for a, b in zip(first, again):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  assert not np.array_equal(first[0]["items"], other_epoch[0]["items"])
  assert not np.array_equal(first[0]["items"], other_seed[0]["items"])


def test_positives_are_uniform_over_the_row():
  matrix = sp.csr_matrix(np.array([[1, 1, 0, 0, 1, 0, 0, 0]], np.float32))
  sampler = ListwiseSampler(matrix, lists_per_batch=50, list_size=10, seed=0,
                            batches_per_epoch=20)
  positives = np.concatenate([b["items"][:, :5].ravel() for b in _batches(sampler, 0)])
  counts = np.bincount(positives, minlength=8)[[0, 1, 4]]
  assert counts.sum() == 5000 and counts.min() > 1500  # ~1667 each


def test_bad_inputs():
  with pytest.raises(InputError, match="no interactions"):
    ListwiseSampler(sp.csr_matrix((3, 4), dtype=np.float32))
  with pytest.raises(InputError, match="all 3 items"):
    ListwiseSampler(sp.csr_matrix(np.ones((2, 3), np.float32)))
  with pytest.raises(InputError, match="positives"):
    ListwiseSampler(_matrix(), list_size=4, num_positives=4)
