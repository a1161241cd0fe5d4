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

Fused steps (`steps_per_call` > 1, the default): the trainer's dataset is
`Triplets.chunks`, `steps_per_call` batches of (user, positive) pairs per
element, and one call of the compiled `train_step` runs them all in a
`tf.while_loop`, drawing each batch's negatives inside the step with the
draw `Triplets.dataset` makes in its pipeline (the same seeds: the same
triplets, the same updates, the same results as `steps_per_call=1`, which
is one batch per call with the negatives drawn by tf.data). An epoch then
costs its arithmetic plus one call per `steps_per_call` batches instead of a
Keras step, an iterator read and a tf.data element per batch. Under
`tf.distribute` the step stays one batch per call (a replica's optimiser
cannot all-reduce inside a while loop), and with `--jit_compile`, which
XLA-compiles the one-batch step with Keras' Adagrad as before: the fused
step's hash table and sparse Adagrad kernel have no XLA kernels, and an
XLA-compiled fused step (sorted-id dedup, `searchsorted`) ran slower on CPU
than the plain graph (XLA lowers `searchsorted` to a comparison with every
key and copies the updated tables).

Larger batches (`--batch_size`): Adagrad divides each row's step by the root
of its accumulated squared gradients, so the size of a row's step hardly
depends on the batch (nor on the reduction, up to the 0.1 initial
accumulator), while the steps per epoch fall by k = batch_size / 512. Rule:
keep the learning rate when the gradients are noise-dominated (per-epoch
progress then stays that of batch 512), scale it by at most sqrt(k) when a
frequent row's k-times-larger summed gradient is mostly signal (its steps
per epoch fall k-fold). On ML-100K loo_full, 20 epochs, seed 0, test
NDCG@100: batch 512, lr 0.05: 0.1331; batch 4096, lr 0.05: 0.1322; batch
4096, lr 0.05 * sqrt(8) = 0.141: 0.1450 (faster progress in 20 epochs).

`SPEC` is `train_baseline --method=bpr`.
"""

import dataclasses
from typing import Literal

import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins
from tfrankcf.inputs.triplets import DEFAULT_BATCH_SIZE, Triplets
from tfrankcf.losses.pairwise import REDUCTIONS, bpr_loss, reduce_pairwise_loss
from tfrankcf.methods import base
from tfrankcf.methods.mf_robustness import ROBUSTNESS_DEFAULT_EPS, robustness_report
from tfrankcf.methods.spec import MethodSpec
from tfrankcf.methods.trainable import Trainable
from tfrankcf.optimizers.adagrad import sparse_adagrad, tf1_adagrad


@dataclasses.dataclass
class BPRConfig:
  """MF-BPR settings (defaults: the APR code's).

  Attributes:
    embedding_dim: Embedding size K of p_u and q_i (AMF.py: 64).
    init_stddev: truncated-normal initialisation scale of both tables.
    learning_rate: Adagrad learning rate (AMF.py: 0.05).
    initial_accumulator: Adagrad's initial accumulator (TF1 default 0.1).
    l2: L2 weight on the batch's embedding rows: l2 * mean(p_u^2 + q_i^2 + q_j^2)
      (original `reg`).
    loss_reduction: Batch reduction of the BPR losses (the original sums).
    batch_size: triplets per batch (set by --batch_size).
    drop_remainder: Drop each epoch's last incomplete batch (original).
    steps_per_call: optimiser steps per call of the compiled training step
      (1: one batch per call, negatives drawn by tf.data; the same updates).
    robustness_eps: Perturbation norms of the robustness study of the trained model (APR
      paper Table 2; empty: no study).
    robustness_max_batches: Cap on the study's training triplets, in batches of 4096
      (default all).
  """

  embedding_dim: int = dataclasses.field(default=64, metadata={"lower_bound": 1})
  init_stddev: float = dataclasses.field(default=0.01, metadata={"flag": False})
  learning_rate: float = dataclasses.field(default=0.05, metadata={"lower_bound": 0})
  initial_accumulator: float = dataclasses.field(default=0.1, metadata={"flag": False})
  l2: float = dataclasses.field(default=0.0, metadata={"lower_bound": 0})
  loss_reduction: Literal[REDUCTIONS] = "sum"
  batch_size: int = dataclasses.field(default=DEFAULT_BATCH_SIZE, metadata={"flag": False})
  drop_remainder: bool = True
  steps_per_call: int = dataclasses.field(default=64, metadata={"flag": False})
  robustness_eps: tuple[float, ...] = dataclasses.field(default=ROBUSTNESS_DEFAULT_EPS,
                                                        metadata={"lower_bound": 0})
  robustness_max_batches: int | None = dataclasses.field(default=None,
                                                         metadata={"lower_bound": 1})

  def __post_init__(self):
    if self.steps_per_call < 1:
      raise ValueError(f"steps_per_call must be positive, got {self.steps_per_call}")
    if self.loss_reduction not in REDUCTIONS:
      raise ValueError(f"loss_reduction must be one of {REDUCTIONS}, "
                       f"got '{self.loss_reduction}'")


def adagrad(config: BPRConfig) -> tf.keras.optimizers.Optimizer:
  """The configured TF1-style Adagrad (`tfrankcf.optimizers.adagrad.tf1_adagrad`)."""
  return tf1_adagrad(config.learning_rate, config.initial_accumulator)


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
    self.triplets = None  # `sample_from`: the negatives of fused steps

  def sample_from(self, triplets: Triplets) -> None:
    """Fused steps (elements of `triplets.chunks`) draw their negatives from `triplets`."""
    self.triplets = triplets

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
    gradients = tape.gradient(loss, variables)
    if (base.is_distributed(self.distribute_strategy)  # all-reduces the replicas'
        or self.jit_compile  # XLA has no kernel for the fused sparse update
        or not all(isinstance(g, tf.IndexedSlices) for g in gradients)):
      optimizer.apply_gradients(zip(gradients, variables))
    else:
      sparse_adagrad(optimizer, zip(gradients, variables))

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

  def one_step(self, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One optimiser step on a triplet batch: (loss, clean margins [B], adversarial loss)."""
    loss, margins = self.bpr_step(batch)
    return loss, margins, tf.constant(0.0)

  def track_adversarial(self, adversarial: tf.Tensor, steps: tf.Tensor) -> None:
    """Tracks the mean adversarial loss of `steps` steps (APR; BPR has none)."""
    del adversarial, steps

  def fused_steps(self, chunk) -> None:
    """`one_step` on every batch of a `Triplets.chunks` element, in one while loop.

    Batch s gets the negatives `Triplets.dataset` gives it; the trackers see
    what `steps_per_call=1` shows them (sums over the chunk, weighted).
    """
    if self.triplets is None:
      raise ValueError("fused BPR steps draw negatives from the Triplets of `sample_from`")
    users, positives = chunk["user_index"], chunk["positive"]
    batch_index, epoch_seed = chunk["batch_index"], chunk["epoch_seed"]
    steps = tf.shape(users)[0]

    def body(step, loss_sum, correct, adversarial_sum):
      batch = {"user_index": users[step], "positive": positives[step],
               "negative": self.triplets.negatives_for(users[step], epoch_seed,
                                                       batch_index[step])}
      loss, margins, adversarial = self.one_step(batch)
      return (step + 1, loss_sum + loss,
              correct + tf.reduce_sum(tf.cast(margins > 0, tf.float32)),
              adversarial_sum + adversarial)

    zero = tf.constant(0.0)
    _, loss_sum, correct, adversarial_sum = tf.while_loop(
        lambda step, *_: step < steps, body, (tf.constant(0), zero, zero, zero),
        parallel_iterations=1)  # the steps update the same tables in turn
    steps = tf.cast(steps, tf.float32)
    examples = tf.cast(tf.size(users), tf.float32)
    self.loss_tracker.update_state(loss_sum / steps, sample_weight=steps)
    self.accuracy_tracker.update_state(correct / examples, sample_weight=examples)
    self.track_adversarial(adversarial_sum / steps, steps)

  def train_step(self, batch):
    if "negative" in batch:  # one batch per call
      loss, margins, adversarial = self.one_step(batch)
      self.track(loss, margins)
      self.track_adversarial(adversarial, tf.constant(1.0))
    else:
      self.fused_steps(batch)
    return {m.name: m.result() for m in self.metrics}

  @property
  def metrics(self):
    return [self.loss_tracker, self.accuracy_tracker]



def with_batch_size(config: BPRConfig, batch_size: int = 0) -> BPRConfig:
  """`config` with the run's --batch_size (triplets) when given."""
  return dataclasses.replace(config, batch_size=batch_size) if batch_size else config


def triplets_for(split, config: BPRConfig, seed: int, model: BPR | None = None,
                 jit_compile: bool = False) -> Triplets:
  """The run's triplets; with `model`, in fused elements it samples from.

  One batch per call under tf.distribute, and with XLA (`--jit_compile`: the
  hash table of the in-step sampler has no XLA kernel).
  """
  fused = (model is not None and config.steps_per_call > 1 and not jit_compile
           and not base.is_distributed(tf.distribute.get_strategy()))
  triplets = Triplets(split.train, batch_size=config.batch_size, seed=seed,
                      drop_remainder=config.drop_remainder,
                      steps_per_element=config.steps_per_call if fused else 0)
  if fused:
    model.sample_from(triplets)
  return triplets


def build_bpr(split, run_config) -> Trainable:
  """`Trainable` of `train_baseline --method=bpr` (a `BPRConfig`).

  The robustness study (`tfrankcf.methods.mf_robustness.robustness_report`) runs on
  the trained model.
  """
  bpr_config = with_batch_size(run_config.method_config, run_config.batch_size)
  model = BPR(split.train.shape[0], split.num_items, bpr_config, seed=run_config.seed)
  model.compile(optimizer=model.bpr_optimizer)
  triplets = triplets_for(split, bpr_config, run_config.seed, model, run_config.jit_compile)
  return Trainable(model=model, dataset_fn=triplets,
                   examples_per_epoch=triplets.examples_per_epoch,
                   report=robustness_report(run_config))


SPEC = MethodSpec(
    name="bpr", label="MF-BPR", config=BPRConfig, build=build_bpr, scores_by="id",
    binary="train_baseline", selected_by={"bpr": {}}, compare_defaults=("--epochs=200",),
    help_title="MF-BPR (--method=bpr)")
