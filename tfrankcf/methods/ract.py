"""RaCT: ranking-critical training of an autoencoder actor (Lobel et al. 2020).

A critic learns to predict a user's NDCG@100 from three statistics of the
actor's prediction, h = [NLL of the actor on the user's full training row,
|H0| held-out items, |H1| observed items], and the actor is then trained to
maximise the critic. One Keras model runs Algorithm 1, the stage chosen from
the epoch the trainer assigns:

1. epochs [0, actor_epochs): the actor's own objective (`AutoencoderModel`);
   the critic's input normalisation statistics follow the training batches
   (moving averages, momentum 0.999, as the authors' batch norm).
2. next critic_epochs: the critic regresses the true metric, actor frozen.
   The actor is the best validation epoch of stage 1 (the authors' critic run
   restores the best actor checkpoint; `critic_start="last"` keeps the last).
   Before its first epoch the normalisation statistics are recomputed exactly
   over one pass of the training users through the frozen actor (default,
   `critic_statistics="refit"`): the authors' moving averages see only the
   actor pre-training batches and, with few batches per epoch (ml-1m-vaecf:
   10), have not converged from their initial 0/1 to NLL values in the
   hundreds, which leaves the critic badly scaled features.
   `critic_statistics="moving"` keeps the code's behaviour.
3. next ac_epochs: actor step on -critic (lr 2e-6) and critic step; by
   default both from one forward pass, as the authors' code does
   (`sequential=True`: the paper's actor-then-critic order). `stage3="warp"`
   or `"lambdarank"` replaces this stage by fine-tuning the actor with that
   loss (the paper's comparison).

In training, one Bernoulli mask b per batch is both the encoder's input
dropout and the observed/held-out split: observed = x * b, held-out =
x * (1 - b). The true metric ranks the logits with the observed items at -inf
and the held-out items relevant. The KL weight keeps counting batches across
all stages (RaCT code). A sparse history batch (`UserRows(sparse=True)`) keeps
the split sparse up to the true metric, which ranks dense rows.
"""

import dataclasses
from typing import Literal

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.autoencoders import (Autoencoder, dense_rows, dropped, encoder_input, kept,
                                             row_sums)
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.losses.reconstruction import get_reconstruction
from tfrankcf.methods import base, noise_streams
from tfrankcf.methods.autoencoder import (DEFAULT_BATCH_SIZE, ActorObjective, ActorSettings,
                                          AutoencoderModel, actor_for, dropout_mask,
                                          objective_for, sparse_rows_for)
from tfrankcf.methods.spec import MethodSpec
from tfrankcf.methods.trainable import Trainable
from tfrankcf.metrics import ranking_tf
from tfrankcf.optimizers.fused_adam import FusedAdam

FEATURES = ("nll", "heldout", "observed")
TARGETS = {"ndcg@100": ranking_tf.ndcg_at_k, "recall@100": ranking_tf.recall_at_k}
STAGE3 = ("critic", "lambdarank", "warp")
CRITIC_STATISTICS = ("refit", "moving")
CRITIC_START = ("best", "last")


@dataclasses.dataclass
class RaCTConfig(ActorSettings):
  """RaCT's actor, schedule and critic (defaults: the authors' code, main_vae.py).

  Attributes:
    actor_epochs: Stage 1: actor pre-training epochs (main_vae.py 100; paper Table 5
      ML-20M 150).
    critic_epochs: Stage 2: critic pre-training epochs.
    ac_epochs: Stage 3: alternating actor-critic epochs.
    critic_features: Critic input features (Figure 5).
    critic_target: Metric the critic learns (Table 6).
    stage3: Last stage: RaCT's critic, or fine-tuning with LambdaRank / WARP.
    sequential: Stage 3 as in the paper's Alg. 1 (actor step, then a fresh forward pass
      for the critic step) instead of one shared pass (authors' code).
    critic_learning_rate: Adam lr of the critic.
    ac_learning_rate: Adam lr of the actor through the critic.
    critic_l2: critic loss += critic_l2 * sum(w^2) / batch over all critic
      variables (base_models.py: 2 * l2_regularizer(1e-4) / batch_size).
    ac_kl_weight: KL weight in the actor-through-critic loss (0 in every script).
    hidden_dims: critic MLP (Table 4: 100, 100, 10 ReLU, then 1 sigmoid).
    cutoff: k of the target metric.
    critic_statistics: Critic input normalisation: 'refit' recomputes the feature
      statistics on the frozen actor when stage 2 starts; 'moving' keeps only the
      stage-1 moving averages (authors' code).
    critic_start: Actor that stages 2-3 start from: the best validation epoch of stage 1
      (authors' code: its critic run restores the best actor checkpoint) or the last one
      (Algorithm 1 read literally).
  """

  actor_epochs: int = dataclasses.field(default=100, metadata={"lower_bound": 0})
  critic_epochs: int = dataclasses.field(default=50, metadata={"lower_bound": 0})
  ac_epochs: int = dataclasses.field(default=50, metadata={"lower_bound": 0})
  critic_features: tuple[Literal[FEATURES], ...] = FEATURES
  critic_target: Literal[tuple(TARGETS)] = "ndcg@100"
  stage3: Literal[STAGE3] = "critic"
  sequential: bool = False
  critic_learning_rate: float = dataclasses.field(default=1e-4, metadata={"lower_bound": 0})
  ac_learning_rate: float = dataclasses.field(default=2e-6, metadata={"lower_bound": 0})
  critic_l2: float = dataclasses.field(default=1e-4, metadata={"flag": False})
  ac_kl_weight: float = dataclasses.field(default=0.0, metadata={"flag": False})
  hidden_dims: tuple = dataclasses.field(default=(100, 100, 10), metadata={"flag": False})
  cutoff: int = dataclasses.field(default=100, metadata={"flag": False})
  critic_statistics: Literal[CRITIC_STATISTICS] = "refit"
  critic_start: Literal[CRITIC_START] = "best"

  def __post_init__(self):
    bad = [f for f in self.critic_features if f not in FEATURES]
    if bad or not self.critic_features:
      raise InputError(f"critic features must be a non-empty subset of "
                       f"{','.join(FEATURES)}; got {','.join(self.critic_features)}")
    if self.critic_target not in TARGETS:
      raise InputError(f"unknown critic target '{self.critic_target}' "
                       f"(choose from {', '.join(TARGETS)})")
    if self.stage3 not in STAGE3:
      raise InputError(f"unknown stage3 '{self.stage3}' (choose from {', '.join(STAGE3)})")
    if self.critic_start not in CRITIC_START:
      raise InputError(f"unknown critic start '{self.critic_start}' "
                       f"(choose from {', '.join(CRITIC_START)})")
    if self.critic_statistics not in CRITIC_STATISTICS:
      raise InputError(f"unknown critic statistics '{self.critic_statistics}' "
                       f"(choose from {', '.join(CRITIC_STATISTICS)})")



class Critic(tf.keras.Model):
  """features [B, F] -> frozen-statistics normalisation -> MLP -> sigmoid [B]."""

  def __init__(self, num_features: int, hidden_dims=(100, 100, 10), **kwargs):
    super().__init__(**kwargs)
    # contrib batch_norm defaults of the original: decay 0.999, eps 1e-3, no
    # trainable offset or scale; statistics move only in actor pre-training.
    self.normalizer = tf.keras.layers.BatchNormalization(
        center=False, scale=False, momentum=0.999, epsilon=1e-3)
    self.hidden_layers = [tf.keras.layers.Dense(units, activation="relu")
                          for units in hidden_dims]
    self.output_layer = tf.keras.layers.Dense(1, activation="sigmoid")
    self(tf.zeros([1, num_features]))

  def update_statistics(self, features: tf.Tensor) -> None:
    """Moves the normalisation's moving mean and variance towards `features`."""
    self.normalizer(features, training=True)

  def set_statistics(self, mean: np.ndarray, variance: np.ndarray) -> None:
    """Sets the normalisation's statistics to `mean` and `variance` [F]."""
    self.normalizer.moving_mean.assign(mean)
    self.normalizer.moving_variance.assign(variance)

  def call(self, features, training=False):
    del training  # the normalisation always uses its frozen moving statistics
    h = self.normalizer(features, training=False)
    for layer in self.hidden_layers:
      h = layer(h)
    return tf.squeeze(self.output_layer(h), axis=-1)


class RaCT(AutoencoderModel):
  """Actor + critic with the three-stage schedule of Algorithm 1."""

  def __init__(self, actor: Autoencoder, objective: ActorObjective,
               config: RaCTConfig = RaCTConfig(), seed: int = 0, **kwargs):
    super().__init__(actor, objective, seed=seed, learning_rate=config.actor_learning_rate,
                     **kwargs)
    self.config = config
    self.critic = Critic(len(config.critic_features), config.hidden_dims)
    self.critic_optimizer = tf.keras.optimizers.Adam(config.critic_learning_rate)
    self.critic_optimizer.build(self.critic.trainable_variables)
    self.ac_optimizer = FusedAdam(
        config.ac_learning_rate if config.stage3 == "critic"
        else config.actor_learning_rate)
    self.ac_optimizer.build(actor.trainable_variables)
    self.stage3_loss = (None if config.stage3 == "critic"
                        else get_reconstruction(config.stage3))
    self.metric_fn = TARGETS[config.critic_target]
    self.critic_loss_tracker = tf.keras.metrics.Mean(name="critic_loss")
    self.target_tracker = tf.keras.metrics.Mean(name="train_" + config.critic_target)
    self.critic_tracker = tf.keras.metrics.Mean(name="critic_output")
    self.statistics_refit = tf.Variable(False, trainable=False, name="statistics_refit")

  # -- pieces ----------------------------------------------------------------
  def stage(self) -> tf.Tensor:
    """1, 2 or 3 from `self.epoch` and the stage lengths."""
    return self.stage_of_epoch(self.config.actor_epochs, self.config.critic_epochs)

  def training_stage(self, epoch: int) -> tuple[str, tuple]:
    """The name of epoch `epoch`'s stage and the trackers it updates (the trainer's epoch line)."""
    config = self.config
    actor = (self.loss_tracker.name, self.kl_tracker.name, self.beta_tracker.name)
    critic = (self.critic_loss_tracker.name, self.target_tracker.name, self.critic_tracker.name)
    if epoch < config.actor_epochs:
      return "actor pre-training", actor
    if epoch < config.actor_epochs + config.critic_epochs:
      return "critic pre-training", critic
    if config.stage3 != "critic":
      return f"{config.stage3} fine-tuning", (self.loss_tracker.name,)
    return "actor-critic", (self.loss_tracker.name,) + critic  # loss: the actor's, -critic

  def critic_features(self, nll, heldout_count, observed_count) -> tf.Tensor:
    """[B, F] in `config.critic_features` order; the counts carry no gradient."""
    columns = {"nll": nll, "heldout": tf.stop_gradient(heldout_count),
               "observed": tf.stop_gradient(observed_count)}
    return tf.stack([columns[name] for name in self.config.critic_features], axis=1)

  def true_metric(self, logits, observed, heldout) -> tf.Tensor:
    """The Oracle: metric@cutoff [B] of `logits` with `observed` items at -inf."""
    scores = tf.where(observed > 0, tf.constant(-np.inf, logits.dtype),
                      tf.stop_gradient(logits))
    return self.metric_fn(heldout, scores, self.config.cutoff)

  def _batch_features(self, history, mask, nll):
    """Critic features of a training batch split by `mask` (observed = kept)."""
    observed = row_sums(kept(history, mask))
    return self.critic_features(nll, row_sums(history) - observed, observed)

  def _batch_view(self, history, mask, logits):
    """Features and target of a training batch split by `mask`."""
    nll = self.reconstruction_term(history, logits)
    target = self.true_metric(logits, dense_rows(kept(history, mask)),
                              dense_rows(dropped(history, mask)))
    return self._batch_features(history, mask, nll), target

  def _critic_loss(self, features, target):
    prediction = self.critic(features)
    batch = tf.cast(base.global_batch_size(target), tf.float32)
    penalty = self.config.critic_l2 * tf.add_n(
        [tf.reduce_sum(tf.square(v)) for v in self.critic.trainable_variables]) / batch
    loss = base.average_loss(tf.square(target - prediction))
    loss += tf.nn.scale_regularization_loss(penalty)
    base.track_partial(self.critic_loss_tracker, loss)
    base.track_batch_mean(self.target_tracker, target)
    base.track_batch_mean(self.critic_tracker, prediction)
    return loss, prediction

  def _apply(self, optimizer, loss, tape, variables):
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  # -- stages ----------------------------------------------------------------
  def actor_stage(self, history, mask):
    nll, _ = self.actor_mle_step(history, mask)
    self.critic.update_statistics(
        tf.stop_gradient(self._batch_features(history, mask, nll)))

  def critic_stage(self, history, mask):
    logits, _ = self.forward(history, mask, training=True)
    features, target = self._batch_view(history, mask, logits)
    with tf.GradientTape() as tape:
      loss, _ = self._critic_loss(tf.stop_gradient(features), target)
    self._apply(self.critic_optimizer, loss, tape, self.critic.trainable_variables)

  def actor_critic_stage(self, history, mask):
    actor_variables = self.actor.trainable_variables
    if self.stage3_loss is not None:
      with tf.GradientTape() as tape:
        logits, _ = self.forward(history, mask, training=True)
        loss = base.average_loss(self.stage3_loss(dense_rows(history), logits))
      self._apply(self.ac_optimizer, loss, tape, actor_variables)
      base.track_partial(self.loss_tracker, loss)
      return
    shared = not self.config.sequential
    with tf.GradientTape(persistent=shared) as tape:
      logits, kl = self.forward(history, mask, training=True)
      features, target = self._batch_view(history, mask, logits)
      actor_loss = base.average_loss(-self.critic(features) + self.config.ac_kl_weight * kl)
      if shared:
        critic_loss, _ = self._critic_loss(tf.stop_gradient(features), target)
    self._apply(self.ac_optimizer, actor_loss, tape, actor_variables)
    base.track_partial(self.loss_tracker, actor_loss)
    if shared:
      self._apply(self.critic_optimizer, critic_loss, tape,
                  self.critic.trainable_variables)
    else:
      self.critic_stage(history, mask)  # fresh forward pass of the updated actor

  # -- stage boundary --------------------------------------------------------
  @tf.function(reduce_retracing=True)
  def _statistics_batch(self, history, index):
    """Sums [F] and squared sums [F] of stage-2 critic features of one batch."""
    seed = tf.random.experimental.stateless_fold_in(
        tf.constant([self.seed, noise_streams.RACT_STATISTICS_STREAM], tf.int64), index)
    mask = dropout_mask(history, self.objective.keep_prob, seed)
    inputs = encoder_input(history, mask, self.objective.keep_prob)
    logits, _ = self.actor(inputs, training=True,
                           seed=tf.random.experimental.stateless_fold_in(seed, 1))
    nll = self.reconstruction_term(history, logits)
    features = tf.cast(self._batch_features(history, mask, nll), tf.float64)
    return tf.reduce_sum(features, 0), tf.reduce_sum(tf.square(features), 0)

  def refit_critic_statistics(self, dataset: tf.data.Dataset) -> None:
    """Exact mean and variance of the critic features over `dataset`.

    The features are those stage 2 trains on: the frozen actor with its
    training-time dropout mask and latent sample (drawn from their own
    stream, deterministic in the seed).
    """
    total = squares = 0.0
    count = 0
    for index, batch in enumerate(dataset):
      batch_total, batch_squares = self._statistics_batch(
          batch["history"], tf.constant(index, tf.int64))
      total, squares = total + batch_total.numpy(), squares + batch_squares.numpy()
      count += int(batch["user_index"].shape[0])
    mean = total / count
    self.critic.set_statistics(mean, np.maximum(squares / count - mean ** 2, 0.0))
    self.statistics_refit.assign(True)

  def prepare_epoch(self, epoch, dataset):
    """Refits the critic's input statistics when stage 2 starts (once)."""
    super().prepare_epoch(epoch, dataset)
    if (self.config.critic_statistics == "refit" and epoch >= self.config.actor_epochs
        and not bool(self.statistics_refit.numpy())):
      self.refit_critic_statistics(dataset)

  def train_step(self, batch):
    return self.staged_train_step(
        batch, [self.actor_stage, self.critic_stage, self.actor_critic_stage])

  @property
  def metrics(self):
    return super().metrics + [self.critic_loss_tracker, self.target_tracker,
                              self.critic_tracker]

  # -- evaluation ------------------------------------------------------------
  @tf.function(reduce_retracing=True)
  def _evaluation_view(self, inputs, targets, exclude):
    """Critic output, NLL and true metric [B] of evaluation users (fold-in -> held-out)."""
    logits, _ = self.forward(inputs)
    nll = self.reconstruction(inputs + targets, logits)
    features = self.critic_features(nll, tf.reduce_sum(targets, axis=1),
                                    tf.reduce_sum(inputs, axis=1))
    return self.critic(features), nll, self.true_metric(logits, exclude, targets)

  def critic_correlation(self, eval_set, batch_size: int = 1000) -> dict:
    """Pearson r of the critic output and of the NLL with the true metric.

    As the authors' validation graph: the actor sees the fold-in items (no
    dropout, z = mu), the NLL is taken on fold-in + held-out items, the counts
    are the fold-in and held-out sizes, and the metric ranks with the excluded
    items at -inf. Users without held-out items are left out.
    """
    critic, nll, truth = [], [], []
    for start in range(0, eval_set.num_users, batch_size):
      rows = slice(start, start + batch_size)
      outputs = self._evaluation_view(
          *(tf.constant(m[rows].toarray().astype(np.float32))
            for m in (eval_set.inputs, eval_set.targets, eval_set.exclude)))
      for store, value in zip((critic, nll, truth), outputs):
        store.append(value.numpy())
    critic, nll, truth = (np.concatenate(v).astype(np.float64) for v in (critic, nll, truth))
    keep = np.diff(eval_set.targets.indptr) > 0
    name = self.config.critic_target
    return {f"critic_pearson_{name}": float(np.corrcoef(critic[keep], truth[keep])[0, 1]),
            f"nll_pearson_{name}": float(np.corrcoef(nll[keep], truth[keep])[0, 1]),
            "correlation_users": int(keep.sum())}


def build_ract(split, run_config) -> Trainable:
  """`Trainable` of `train_ract` (a `RaCTConfig`): the actor `actor` plus the critic.

  The run lasts actor_epochs + critic_epochs + ac_epochs (the spec's stages).
  Its diagnostics record, from stage 2 on, the critic's and the NLL's Pearson
  correlation with the true metric on the validation users after every
  validation (results.json: per epoch in `history`, and `diagnostics.final`);
  its "pretrained" milestone reports the best actor of stage 1 and the paired
  test of the final model against it. With critic_start="best" stage 2 starts
  from that actor.
  """
  config = run_config.method_config
  model = RaCT(actor_for(split.num_items, config), objective_for(config), config,
               seed=run_config.seed)
  model.compile(optimizer=model.actor_optimizer)
  rows = UserRows(split.train, batch_size=run_config.batch_size or DEFAULT_BATCH_SIZE,
                  seed=run_config.seed, sparse=sparse_rows_for(run_config))

  def diagnostics(trained, run_split):
    if int(trained.stage().numpy()) < 2:
      return {}  # the critic is not trained yet
    return trained.critic_correlation(run_split.valid,
                                      batch_size=run_config.eval_batch_size)

  return Trainable(model=model, dataset_fn=rows, examples_per_epoch=rows.num_users,
                   milestones={"pretrained": model.config.actor_epochs},
                   diagnostics=diagnostics,
                   restore_best_at=(model.config.actor_epochs
                                    if model.config.critic_start == "best" else None))


SPEC = MethodSpec(
    name="ract", label="RaCT", config=RaCTConfig, build=build_ract, role="proposed",
    binary="train_ract", family="ract", stages=("actor_epochs", "critic_epochs", "ac_epochs"),
    default_protocol="strong")
