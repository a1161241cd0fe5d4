"""MF-BPR: matrix factorisation trained on (u, i, j) triplets with the BPR loss.

As in the APR authors' code: MF without biases (64 dims, truncated-normal 0.01
init), batches of 512 triplets with one uniformly drawn negative per training
pair, Adagrad with learning rate 0.05 and TF1's initial accumulator 0.1 (and no
epsilon), the batch loss a SUM of per-example BPR losses, and the optional L2
term l2 * mean over batch and dimensions of (p_u^2 + q_i^2 + q_j^2).

Loss reduction (`loss_reduction`): "sum" mirrors the original, whose Adagrad
steps therefore grow with the batch size; "mean" divides by the global batch
size. Both are correct under `tf.distribute`: see
`tfrankcf.losses.pairwise.reduce_pairwise_loss`. The L2 term is always a mean
over the global batch, as in the original.

The gradients of the embedding tables are `tf.IndexedSlices` (row lookups)
and Keras' Adagrad sums duplicate rows and updates only the batch's rows, like
TF1's sparse Adagrad.

`build_bpr(split, config)` is the `train_baseline --method=bpr` entry point.
"""

import dataclasses

import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins
from tfrankcf.inputs.triplets import DEFAULT_BATCH_SIZE, Triplets
from tfrankcf.losses.pairwise import REDUCTIONS, bpr_loss, reduce_pairwise_loss
from tfrankcf.methods import base


@dataclasses.dataclass
class BPRConfig:
  """MF-BPR settings (defaults: the APR code's).

  Attributes:
    embedding_dim: K, the size of p_u and q_i.
    init_stddev: truncated-normal initialisation scale of both tables.
    learning_rate: Adagrad learning rate.
    initial_accumulator: Adagrad's initial accumulator (TF1 default 0.1).
    l2: coefficient of mean(p_u^2 + q_i^2 + q_j^2) (the original's `reg`).
    loss_reduction: "sum" (original) or "mean" of the batch's BPR losses.
    batch_size: triplets per batch.
    drop_remainder: drop the last incomplete batch of an epoch (original).
  """

  embedding_dim: int = 64
  init_stddev: float = 0.01
  learning_rate: float = 0.05
  initial_accumulator: float = 0.1
  l2: float = 0.0
  loss_reduction: str = "sum"
  batch_size: int = DEFAULT_BATCH_SIZE
  drop_remainder: bool = True

  def __post_init__(self):
    if self.loss_reduction not in REDUCTIONS:
      raise ValueError(f"loss_reduction must be one of {REDUCTIONS}, "
                       f"got '{self.loss_reduction}'")


def adagrad(config: BPRConfig) -> tf.keras.optimizers.Optimizer:
  """TF1-style Adagrad: accumulator starts at `initial_accumulator`, no epsilon."""
  return tf.keras.optimizers.Adagrad(
      learning_rate=config.learning_rate,
      initial_accumulator_value=config.initial_accumulator, epsilon=0.0)


class BPR(base.Model):
  """Matrix factorisation trained with the BPR loss."""

  def __init__(self, num_users: int, num_items: int, config: BPRConfig = BPRConfig(),
               seed: int = 0, **kwargs):
    super().__init__(num_items, **kwargs)
    self.config = config
    self.mf = MatrixFactorization(num_users, num_items, config.embedding_dim,
                                  config.init_stddev, seed=seed)
    self.bpr_optimizer = adagrad(config)
    self.bpr_optimizer.build(self.mf.trainable_variables)
    self.accuracy_tracker = tf.keras.metrics.Mean(name="accuracy")

  # -- scoring ---------------------------------------------------------------
  uses_history = False

  def predict_scores(self, user_index, history):
    del history  # MF scores from the user's embedding
    return self.mf.all_item_scores(user_index)

  def predict_candidate_scores(self, user_index, history, items):
    del history
    return self.mf.candidate_scores(user_index, items)

  # -- training --------------------------------------------------------------
  def lookup(self, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Gathered rows p_u, q_i, q_j [B, K] of a triplet batch."""
    return (self.mf.users(batch["user_index"]), self.mf.items(batch["positive"]),
            self.mf.items(batch["negative"]))

  def l2_penalty(self, user_vectors, positive_vectors, negative_vectors) -> tf.Tensor:
    """Per-example l2 * mean_k(p_u^2 + q_i^2 + q_j^2) [B]."""
    squares = (tf.square(user_vectors) + tf.square(positive_vectors)
               + tf.square(negative_vectors))
    return self.config.l2 * tf.reduce_mean(squares, axis=-1)

  def objective(self, example_losses: tf.Tensor, penalties: tf.Tensor) -> tf.Tensor:
    """This replica's share of reduce(losses) + mean(l2 penalties) over the global batch."""
    loss = reduce_pairwise_loss(example_losses, self.config.loss_reduction)
    if self.config.l2:
      loss += base.average_loss(penalties)
    return loss

  def apply(self, optimizer, tape: tf.GradientTape, loss: tf.Tensor) -> None:
    variables = self.mf.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  def bpr_objective(self, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """(loss, clean margins [B]) of a batch; differentiate it under a tape."""
    vectors = self.lookup(batch)
    margins = triplet_margins(*vectors)
    return self.objective(bpr_loss(margins), self.l2_penalty(*vectors)), margins

  def bpr_step(self, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """One Adagrad step on the BPR objective; returns (loss, clean margins [B])."""
    with tf.GradientTape() as tape:
      loss, margins = self.bpr_objective(batch)
    self.apply(self.bpr_optimizer, tape, loss)
    return loss, margins

  def track(self, loss: tf.Tensor, margins: tf.Tensor) -> None:
    base.track_partial(self.loss_tracker, loss)
    self.accuracy_tracker.update_state(tf.cast(margins > 0, tf.float32))

  def train_step(self, batch):
    self.track(*self.bpr_step(batch))
    return {m.name: m.result() for m in self.metrics}

  @property
  def metrics(self):
    return [self.loss_tracker, self.accuracy_tracker]



def config_from_params(config_class, params: dict, batch_size: int = 0):
  """`config_class` with the fields present in `params` (run params) overridden."""
  names = {field.name for field in dataclasses.fields(config_class)}
  values = {key: value for key, value in params.items() if key in names}
  if batch_size:
    values["batch_size"] = batch_size
  return config_class(**values)


def triplets_for(split, config: BPRConfig, seed: int) -> Triplets:
  return Triplets(split.train, batch_size=config.batch_size, seed=seed,
                  drop_remainder=config.drop_remainder)


def build_bpr(split, config):
  """`Trainable` for `train_baseline --method=bpr`.

  Run params: the `BPRConfig` fields and the robustness study's
  (`tfrankcf.methods.apr.robustness_report`), run on the trained model.
  """
  # pylint: disable=g-import-not-at-top
  from tfrankcf.methods.apr import robustness_report  # apr builds on this module
  from tfrankcf.training.run import Trainable
  bpr_config = config_from_params(BPRConfig, config.params, config.batch_size)
  model = BPR(split.train.shape[0], split.num_items, bpr_config, seed=config.seed)
  model.compile(optimizer=model.bpr_optimizer)
  triplets = triplets_for(split, bpr_config, config.seed)
  return Trainable(model=model, dataset_fn=triplets,
                   examples_per_epoch=triplets.examples_per_epoch,
                   report=robustness_report(config))
