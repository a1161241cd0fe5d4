"""An example method defined outside the package, in one module: spec, config and model.

A low-rank item-item model: a user's scores are history @ E @ F^T, trained
with a softmax cross-entropy on the user's training row. Registered only as a
plugin (`TFRANKCF_PLUGINS=<this file>`): nothing in tfrankcf names it, and the
binaries, `compare` and `export_model` pick it up from the registry.
"""

import dataclasses

import tensorflow as tf

from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods import base
from tfrankcf.methods.spec import MethodSpec, Variant
from tfrankcf.methods.trainable import Trainable


@dataclasses.dataclass(frozen=True)
class LowRankConfig:
  """Settings of the example low-rank item-item model.

  Attributes:
    rank: Size of the item factors E and F.
    learning_rate: Adam learning rate.
    rows_per_batch: Users per training batch.
  """

  rank: int = dataclasses.field(default=8, metadata={"lower_bound": 1})
  learning_rate: float = dataclasses.field(default=1e-2, metadata={"lower_bound": 0})
  rows_per_batch: int = dataclasses.field(default=200, metadata={"lower_bound": 1})


class LowRankItems(base.Model):
  """scores = history @ E @ F^T."""

  def __init__(self, num_items: int, config: LowRankConfig, seed: int = 0):
    super().__init__(num_items)
    init = tf.keras.initializers.TruncatedNormal(stddev=0.1, seed=seed)
    self.encode = self.add_weight(name="encode", shape=[num_items, config.rank],
                                  initializer=init)
    self.decode = self.add_weight(name="decode", shape=[num_items, config.rank],
                                  initializer=init)

  def predict_scores(self, user_index, history):
    del user_index
    return tf.matmul(tf.matmul(history, self.encode), self.decode, transpose_b=True)

  def compute_example_losses(self, batch, training: bool = True):
    del training
    history = batch["history"]
    if isinstance(history, tf.SparseTensor):
      history = tf.sparse.to_dense(history)
    logits = self.predict_scores(batch["user_index"], history)
    return -tf.reduce_sum(tf.nn.log_softmax(logits) * history, axis=-1)


def build(split, run_config) -> Trainable:
  config = run_config.method_config
  model = LowRankItems(split.num_items, config, seed=run_config.seed)
  model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate))
  rows = UserRows(split.train, batch_size=run_config.batch_size or config.rows_per_batch,
                  seed=run_config.seed)
  return Trainable(model=model, dataset_fn=rows, examples_per_epoch=rows.num_users)


SPEC = MethodSpec(
    name="low_rank_items", label="Low-rank item-item", config=LowRankConfig, build=build,
    variants=(Variant("low_rank_items", "Low-rank item-item"),
              Variant("low_rank_items_r2", "Low-rank item-item (rank 2)", {"rank": 2})))
