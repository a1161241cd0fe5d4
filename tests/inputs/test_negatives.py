"""Tests of the shared non-item sampler."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.inputs.negatives import NegativeSampler


def _matrix():
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((30, 40)) < 0.6).astype(np.float32))


def test_membership_for_vectors_and_lists():
  matrix = _matrix()
  sampler = NegativeSampler(matrix)
  users = tf.constant([0, 1, 2], tf.int64)
  items = tf.constant([[0, 1, 2, 3]] * 3, tf.int64)
  np.testing.assert_array_equal(sampler.is_training_pair(users, items),
                                matrix[:3, :4].toarray() > 0)
  np.testing.assert_array_equal(sampler.is_training_pair(users, items[:, 0]),
                                matrix[:3, 0].toarray().ravel() > 0)


@pytest.mark.parametrize("per_user", [None, 7])
def test_samples_are_non_items_and_depend_only_on_the_seed(per_user):
  matrix = _matrix()
  sampler = NegativeSampler(matrix)
  users = tf.constant(np.arange(30).repeat(20), tf.int64)
  seed = tf.constant([3, 4], tf.int64)
  negatives = sampler.sample(users, seed, per_user).numpy()
  dense = matrix.toarray() > 0
  rows = users.numpy() if per_user is None else users.numpy()[:, None]
  assert not dense[rows, negatives].any()
  np.testing.assert_array_equal(negatives, sampler.sample(users, seed, per_user).numpy())
  assert not np.array_equal(negatives, sampler.sample(users, seed + 1, per_user).numpy())


def test_bad_matrices():
  with pytest.raises(InputError, match="no interactions"):
    NegativeSampler(sp.csr_matrix((3, 4), dtype=np.float32))
  with pytest.raises(InputError, match="user 1 has interacted with all 2"):
    NegativeSampler(sp.csr_matrix(np.array([[1, 0], [1, 1]], np.float32)))
