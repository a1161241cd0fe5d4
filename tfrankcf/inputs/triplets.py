"""BPR triplets (u, i, j) as a tf.data pipeline: one epoch = every training pair once.

An epoch visits every training pair (u, i) of the csr matrix once, in an order
drawn from (seed, epoch), cut into batches of 512 (the APR code; it drops the
remainder, which `drop_remainder` mirrors by default). Each positive gets one
negative j drawn uniformly among the items u has NOT interacted with in
training, by exact vectorised rejection inside the tf.data graph
(`tfrankcf.inputs.negatives`). All draws are stateless in (seed, epoch,
batch index, round), so an epoch is the same whatever the parallelism and a
resumed run repeats it exactly.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.inputs.negatives import NegativeSampler, training_csr

DEFAULT_BATCH_SIZE = 512  # APR code


class Triplets:
  """Epoch datasets of {"user_index", "positive", "negative"}: int64 [B] each.

  Calling the object is its `dataset` method, i.e. it is a `dataset_fn` for the
  trainer.
  """

  def __init__(self, matrix: sp.csr_matrix, batch_size: int = DEFAULT_BATCH_SIZE,
               seed: int = 0, drop_remainder: bool = True, shuffle: bool = True):
    self.negatives = NegativeSampler(matrix)
    matrix = training_csr(matrix)
    self.num_users, self.num_items = matrix.shape
    self.users = np.repeat(np.arange(self.num_users, dtype=np.int64), np.diff(matrix.indptr))
    self.items = matrix.indices.astype(np.int64)
    self.batch_size = int(batch_size)
    self.seed = int(seed)
    self.drop_remainder = drop_remainder
    self.shuffle = shuffle

  @property
  def num_pairs(self) -> int:
    return int(self.users.size)

  @property
  def batches_per_epoch(self) -> int:
    if self.drop_remainder:
      return self.num_pairs // self.batch_size
    return -(-self.num_pairs // self.batch_size)

  @property
  def examples_per_epoch(self) -> int:
    if self.drop_remainder:
      return self.batches_per_epoch * self.batch_size
    return self.num_pairs

  def order(self, epoch: int) -> np.ndarray:
    """The order in which epoch `epoch` visits the training pairs."""
    if not self.shuffle:
      return np.arange(self.num_pairs, dtype=np.int64)
    rng = np.random.default_rng([self.seed, int(epoch)])
    return rng.permutation(self.num_pairs).astype(np.int64)

  def dataset(self, epoch: int = 0) -> tf.data.Dataset:
    order = self.order(epoch)
    users, items = self.users[order], self.items[order]
    full = (self.num_pairs // self.batch_size) * self.batch_size
    shape = (-1, self.batch_size)
    # Batches are cut in numpy: tf.data then handles one element per batch.
    batches = tf.data.Dataset.from_tensor_slices(
        (users[:full].reshape(shape), items[:full].reshape(shape)))
    if full < self.num_pairs and not self.drop_remainder:
      batches = batches.concatenate(tf.data.Dataset.from_tensors(
          (users[full:], items[full:])))
    epoch_seed = tf.constant([self.seed, int(epoch)], tf.int64)

    def with_negatives(batch_index, pair):
      users, positives = pair
      seed = tf.random.experimental.stateless_fold_in(epoch_seed, batch_index)
      return {"user_index": users, "positive": positives,
              "negative": self.negatives.sample(users, seed)}

    return batches.enumerate().map(with_negatives, num_parallel_calls=tf.data.AUTOTUNE,
                                   deterministic=True).prefetch(tf.data.AUTOTUNE)

  def __call__(self, epoch: int = 0) -> tf.data.Dataset:
    return self.dataset(epoch)
