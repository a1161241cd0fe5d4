"""BPR triplets (u, i, j) as a tf.data pipeline: one epoch = every training pair once.

An epoch visits every training pair (u, i) of the csr matrix once, in an order
drawn from (seed, epoch), cut into batches of 512 (the APR code; it drops the
remainder, which `drop_remainder` mirrors by default). Each positive gets one
negative j drawn uniformly among the items u has NOT interacted with in
training, by exact vectorised rejection (`tfrankcf.inputs.negatives`'s
draws; membership by a hash table of the training pairs). All draws are
stateless in (seed, epoch, batch index, round), so an epoch is the same
whatever the parallelism and a resumed run repeats it exactly.

Two forms of the same epoch:

* `dataset(epoch)`: batches {"user_index", "positive", "negative"} [B], the
  negatives drawn in the tf.data pipeline;
* `chunks(epoch, steps)`: the same pairs in the same order, `steps` batches
  per element ({"user_index", "positive"} [S, B], "batch_index" [S] and
  "epoch_seed" [2]) and no negatives: the training step draws them itself
  with `negatives_for`, the very draw `dataset` makes, so both forms give
  the same triplets (MF-BPR's fused step, `tfrankcf.methods.bpr`). The last
  element has the epoch's remaining batches; an incomplete last batch (no
  `drop_remainder`) is an element of its own.
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
               seed: int = 0, drop_remainder: bool = True, shuffle: bool = True,
               steps_per_element: int = 0):
    self.negatives = NegativeSampler(matrix)  # checks the matrix
    matrix = training_csr(matrix)
    self.num_users, self.num_items = matrix.shape
    self.users = np.repeat(np.arange(self.num_users, dtype=np.int64), np.diff(matrix.indptr))
    self.items = matrix.indices.astype(np.int64)
    keys = tf.constant(self.users * self.num_items + self.items)
    self._training_pairs = tf.lookup.StaticHashTable(  # u * M + i -> 1 (0: not a pair)
        tf.lookup.KeyValueTensorInitializer(keys, tf.ones_like(keys, tf.int32)),
        default_value=0)
    self.batch_size = int(batch_size)
    self.seed = int(seed)
    self.drop_remainder = drop_remainder
    self.shuffle = shuffle
    self.steps_per_element = int(steps_per_element)  # > 0: calling gives `chunks`

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

  def epoch_seed(self, epoch: int) -> tf.Tensor:
    return tf.constant([self.seed, int(epoch)], tf.int64)

  def negatives_for(self, users: tf.Tensor, epoch_seed: tf.Tensor,
                    batch_index: tf.Tensor) -> tf.Tensor:
    """The negatives [B] of batch `batch_index` of the epoch of `epoch_seed` (users [B]).

    `NegativeSampler.sample`'s draws, rounds and result (round r draws every
    slot from `stateless_fold_in(seed, r)`; a slot keeps its first draw that
    is not a training item of its user), computed with fewer ops per batch:
    membership is one hash-table lookup and each round tests only once.
    """
    seed = tf.random.experimental.stateless_fold_in(epoch_seed, batch_index)

    def draw(round_index):
      return tf.random.stateless_uniform(
          tf.shape(users), seed=tf.random.experimental.stateless_fold_in(seed, round_index),
          minval=0, maxval=self.num_items, dtype=tf.int64)

    def is_training_pair(items):
      return self._training_pairs.lookup(users * self.num_items + items) > 0

    def redraw(round_index, negatives, hit):
      round_index += 1
      negatives = tf.where(hit, draw(round_index), negatives)
      return round_index, negatives, is_training_pair(negatives)

    start = tf.constant(0, tf.int64)
    negatives = draw(start)
    _, negatives, _ = tf.while_loop(lambda _, __, hit: tf.reduce_any(hit), redraw,
                                    (start, negatives, is_training_pair(negatives)))
    return negatives

  def _epoch_pairs(self, epoch: int):
    """(users, positives) [batches, B] of the epoch's full batches, and the incomplete rest."""
    order = self.order(epoch)
    users, items = self.users[order], self.items[order]
    full = (self.num_pairs // self.batch_size) * self.batch_size
    shape = (-1, self.batch_size)
    rest = None
    if full < self.num_pairs and not self.drop_remainder:
      rest = (users[full:], items[full:])
    return (users[:full].reshape(shape), items[:full].reshape(shape)), rest

  def dataset(self, epoch: int = 0) -> tf.data.Dataset:
    (users, items), rest = self._epoch_pairs(epoch)
    # Batches are cut in numpy: tf.data then handles one element per batch.
    batches = tf.data.Dataset.from_tensor_slices((users, items))
    if rest is not None:
      batches = batches.concatenate(tf.data.Dataset.from_tensors(rest))
    epoch_seed = self.epoch_seed(epoch)

    def with_negatives(batch_index, pair):
      users, positives = pair
      return {"user_index": users, "positive": positives,
              "negative": self.negatives_for(users, epoch_seed, batch_index)}

    return batches.enumerate().map(with_negatives, num_parallel_calls=tf.data.AUTOTUNE,
                                   deterministic=True).prefetch(tf.data.AUTOTUNE)

  def chunks(self, epoch: int = 0, steps: int | None = None) -> tf.data.Dataset:
    """The epoch's pairs, `steps` (default `steps_per_element`) batches per element."""
    steps = int(steps or self.steps_per_element)
    if steps < 1:
      raise ValueError(f"steps per element must be positive, got {steps}")
    (users, items), rest = self._epoch_pairs(epoch)
    batch_index = np.arange(len(users), dtype=np.int64)
    whole = (len(users) // steps) * steps
    parts = [tf.data.Dataset.from_tensor_slices((  # elements of `steps` batches
        users[:whole].reshape(-1, steps, self.batch_size),
        items[:whole].reshape(-1, steps, self.batch_size),
        batch_index[:whole].reshape(-1, steps)))]
    if whole < len(users):  # the remaining full batches
      parts.append(tf.data.Dataset.from_tensors(
          (users[whole:], items[whole:], batch_index[whole:])))
    if rest is not None:  # the incomplete last batch
      parts.append(tf.data.Dataset.from_tensors(
          (rest[0][None], rest[1][None], np.array([len(users)], np.int64))))
    dataset = parts[0]
    for part in parts[1:]:
      dataset = dataset.concatenate(part)
    epoch_seed = self.epoch_seed(epoch)
    return dataset.map(lambda user_rows, item_rows, index: {
        "user_index": user_rows, "positive": item_rows, "batch_index": index,
        "epoch_seed": epoch_seed}).prefetch(2)

  def __call__(self, epoch: int = 0) -> tf.data.Dataset:
    if self.steps_per_element > 0:
      return self.chunks(epoch)
    return self.dataset(epoch)
