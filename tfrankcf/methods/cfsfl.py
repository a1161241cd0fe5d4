"""CF-SFL: collaborative filtering with a synthetic feedback loop (ICLR 2020 submission).

A recommender pi (any autoencoder actor of `tfrankcf.backbones.autoencoders`,
Mult-VAE by default) and a virtual user (`tfrankcf.backbones.virtual_user`:
fusion h, reward estimator R, feedback generator F) run an unrolled loop

  v_0 = 0;  a_t = pi([x, v_t]);  v_{t+1} = F(h(x, a_t), R(x, a_t))  (t < T);

and the recommendation is a_T (paper sec. 3.2, Figure 2). The recommender's
input is [l2-normalised x, l2-normalised v] (sec. 6 "Set-up"), so its first
layer is M + 128 wide; the input dropout applies to the x part only. T = 0 is
exactly the base recommender (v_0 = 0 meets zero input columns). The same
T-step loop scores users at inference (`predict_scores`).

One Keras model runs Algorithm 1, the stage chosen from `self.epoch`:

1. epochs [0, recommender_epochs): the recommender's own objective
   (`AutoencoderModel.actor_mle_step`, the ELBO for Mult-VAE) with v = 0.
2. next reward_epochs: the reward estimator alone, real = the user's
   ground-truth items, fake = the frozen recommender's items with v = 0.
3. next joint_epochs, per batch: (a) the recommender and the feedback
   generator minimise eq. 7, ELBO(a_T) - log R(x, a_T), back-propagating
   through all T steps; (b) a fresh T-step pass of the updated recommender
   feeds the reward estimator's step.

Choices the paper leaves open (docs/cfsfl.md lists them with reasons):

* a_t fed to h and R is the recommender's item distribution softmax(logits);
  the ground-truth a ~ D is the user's full training row normalised to sum 1
  (the ELBO's own target), and x in h is that same full row.
* Eq. 8 as printed is unbounded; the reward estimator minimises the GAN /
  GAIL cross-entropy -log R(x, a_D) - log(1 - R(x, a_pi)) instead.
* phi = (lookup table B, g) belongs to the reward estimator; psi = F; the
  recommender step does not move B.
* Real and fake examples share the batch's users (paired), not two batches.
* The recommender's l2 penalty "0.01" is vae_cf's Mult-DAE convention:
  0.01 / batch_size * sum of squared kernels, on the recommender only.
* The feedback rows of the recommender's first layer start at zero
  (`feedback_init="zeros"`), so stage 3 starts from the pre-trained
  recommender's predictions; "glorot" keeps the default initialiser.
* Adam everywhere (lr 1e-3, none given); stage 3 continues the stage-1 Adam
  state of the recommender; the feedback generator has its own optimiser.

Randomness (dropout mask, latent noise of each unrolled pass) is drawn
statelessly from (seed, step, stream, t), so a resumed run repeats it. The
run keeps the best recommender of stage 1 as its "pretrained" milestone
(`tfrankcf.training.loop`), so that results compare CF-SFL with its own
pre-trained model by a paired test over users.

A sparse history batch (`UserRows(sparse=True)`, the builder's default) stays
sparse through the recommender's first layer (`input_products`, once per
batch), the virtual user's x and the ground truth a ~ D; the recommendations
softmax(logits) are dense.

`build_cfsfl(split, config)` is the `train_cfsfl` entry point.
"""

import dataclasses
from typing import Literal

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.autoencoders import Autoencoder, is_sparse, kept, row_sums, with_values
from tfrankcf.backbones.virtual_user import EMBEDDING_DIM, HIDDEN_DIMS, VirtualUser
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods import base, noise_streams
from tfrankcf.methods.autoencoder import (DEFAULT_BATCH_SIZE, ActorObjective, ActorSettings,
                                          AutoencoderModel, actor_for, objective_for,
                                          sparse_rows_for)
from tfrankcf.methods.spec import MethodSpec
from tfrankcf.methods.trainable import Trainable
from tfrankcf.metrics import evaluate

FEEDBACK_INIT = ("zeros", "glorot")
FEEDBACK_HISTORY = ("full", "observed")


@dataclasses.dataclass
class CFSFLConfig(ActorSettings):
  """CF-SFL's recommender, schedule, loop and virtual user (defaults: the paper, ML-20M).

  Attributes:
    recommender_epochs: Stage 1: recommender pre-training epochs (sec. 6: 150 on
      ML-20M, 75 on Netflix/MSD).
    reward_epochs: Stage 2: reward-estimator pre-training epochs (not given in the
      paper).
    joint_epochs: Stage 3: alternating epochs of the whole loop (sec. 6: 50 on ML-20M,
      25 on Netflix/MSD).
    unroll_steps: T: recommendation-feedback rounds (8 ML-20M/Netflix, 6 MSD), in
      training and inference.
    embedding_dim: d of the feedback fusion's lookup table (App. A.1: 64).
    reward_dims: hidden layers of g (Table 2).
    feedback_dims: hidden layers of F (Table 2); the last entry is the feedback width.
    reward_learning_rate: Adam lr of the reward estimator (and B).
    feedback_learning_rate: Adam lr of the feedback generator.
    l2: Recommender l2 penalty: l2 / batch_size * sum(kernel^2).
    feedback_init: Initial recommender weights on the feedback inputs: zeros (stage 3
      starts from the pre-trained predictions) or glorot.
    feedback_history: x of the virtual user's h(x, a) in training: the whole training
      row (full) or the items the recommender's dropped-out input kept (observed). At
      evaluation both see the fold-in row.
  """

  actor: ActorSettings.__annotations__["actor"] = dataclasses.field(
      default="vae", metadata={"alias": "recommender"})
  recommender_epochs: int = dataclasses.field(default=150, metadata={"lower_bound": 0})
  reward_epochs: int = dataclasses.field(default=10, metadata={"lower_bound": 0})
  joint_epochs: int = dataclasses.field(default=50, metadata={"lower_bound": 0})
  unroll_steps: int = dataclasses.field(default=8, metadata={"lower_bound": 0})
  embedding_dim: int = dataclasses.field(default=EMBEDDING_DIM, metadata={"lower_bound": 1})
  reward_dims: tuple = dataclasses.field(default=HIDDEN_DIMS, metadata={"flag": False})
  feedback_dims: tuple = dataclasses.field(default=HIDDEN_DIMS, metadata={"flag": False})
  reward_learning_rate: float = dataclasses.field(default=1e-3, metadata={"lower_bound": 0})
  feedback_learning_rate: float = dataclasses.field(default=1e-3,
                                                    metadata={"lower_bound": 0})
  l2: float = dataclasses.field(default=0.01, metadata={"lower_bound": 0})
  feedback_init: Literal[FEEDBACK_INIT] = "zeros"
  feedback_history: Literal[FEEDBACK_HISTORY] = "full"

  def __post_init__(self):
    counts = (self.recommender_epochs, self.reward_epochs, self.joint_epochs,
              self.unroll_steps)
    if min(counts) < 0:
      raise InputError("stage epochs and unroll_steps must be >= 0")
    if self.feedback_init not in FEEDBACK_INIT:
      raise InputError(f"unknown feedback_init '{self.feedback_init}' "
                       f"(choose from {', '.join(FEEDBACK_INIT)})")
    if self.feedback_history not in FEEDBACK_HISTORY:
      raise InputError(f"unknown feedback_history '{self.feedback_history}' "
                       f"(choose from {', '.join(FEEDBACK_HISTORY)})")

  @property
  def feedback_width(self) -> int:
    return int(self.feedback_dims[-1])


class _LogitsScorer:
  """`evaluate`'s `score` interface over a history -> logits function."""

  def __init__(self, logits_fn):
    self._logits = tf.function(logits_fn, reduce_retracing=True)

  def score(self, user_index, history, items=None):
    del user_index
    scores = self._logits(tf.constant(history.toarray().astype(np.float32))).numpy()
    if items is None:
      return scores
    return np.take_along_axis(scores, np.asarray(items), axis=1)


class CFSFL(AutoencoderModel):
  """Recommender + virtual user with the three-stage schedule of Algorithm 1."""

  def __init__(self, actor: Autoencoder, objective: ActorObjective,
               config: CFSFLConfig = CFSFLConfig(), seed: int = 0, **kwargs):
    if actor.input_width != actor.num_items + config.feedback_width:
      raise InputError(f"the recommender must read [x, v]: input width "
                       f"{actor.num_items} + {config.feedback_width}, got {actor.input_width}")
    super().__init__(actor, objective, seed=seed, learning_rate=config.actor_learning_rate,
                     **kwargs)
    self.config = config
    self.virtual_user = VirtualUser(actor.num_items, config.embedding_dim,
                                    config.reward_dims, config.feedback_dims)
    self.reward_optimizer = tf.keras.optimizers.Adam(config.reward_learning_rate)
    self.reward_optimizer.build(self.virtual_user.reward_variables)
    self.feedback_optimizer = tf.keras.optimizers.Adam(config.feedback_learning_rate)
    self.feedback_optimizer.build(self.virtual_user.feedback_variables)
    if config.feedback_init == "zeros":
      for layer in actor.input_layers:
        kernel = layer.kernel
        kernel.assign(tf.concat([kernel[:actor.num_items],
                                 tf.zeros_like(kernel[actor.num_items:])], axis=0))
    self.reward_loss_tracker = tf.keras.metrics.Mean(name="reward_loss")
    self.reward_real_tracker = tf.keras.metrics.Mean(name="reward_ground_truth")
    self.reward_fake_tracker = tf.keras.metrics.Mean(name="reward_recommended")
    self.neg_log_reward_tracker = tf.keras.metrics.Mean(name="neg_log_reward")

  # -- the loop --------------------------------------------------------------
  def actor_input(self, history, mask=None):
    """[normalised x (dropped out by `mask`), v = 0]: the recommender without feedback."""
    observed = self.observed_input(history, mask)
    if is_sparse(observed):  # the zero feedback columns hold no entries
      width = tf.constant(self.actor.input_width, tf.int64)
      return tf.SparseTensor(observed.indices, observed.values,
                             tf.stack([observed.dense_shape[0], width]))
    return tf.concat([observed,
                      tf.zeros([tf.shape(history)[0], self.config.feedback_width])], axis=1)

  def unroll(self, history, steps: int, mask=None, training=False,
             stream: int = noise_streams.CFSFL_RECOMMENDER_STREAM):
    """(logits, kl) of a_T after `steps` rounds of recommendation and feedback.

    x's part of the recommender's first layer is the same in every round: it
    is computed once (`Autoencoder.input_products`), each round adds v_t's.
    """
    base_seed = self.noise_seed(stream)
    products = self.actor.input_products(self.observed_input(history, mask))
    seen = self.virtual_user_history(history, mask)
    feedback = tf.zeros([tf.shape(products[0])[0], self.config.feedback_width])
    for t in range(steps + 1):
      seed = tf.random.experimental.stateless_fold_in(base_seed, t)
      logits, kl = self.actor(feedback, training=training and mask is not None, seed=seed,
                              leading_products=products)
      if t < steps:
        feedback = tf.math.l2_normalize(
            self.virtual_user.feedback(seen, tf.nn.softmax(logits)), axis=1)
    return logits, kl

  def virtual_user_history(self, history, mask=None) -> tf.Tensor:
    """The x of h(x, a): the whole row, or in training with feedback_history="observed"
    only the items the recommender's dropped-out input kept (v then carries nothing about
    the dropped items the reconstruction must predict)."""
    if mask is None or self.config.feedback_history == "full":
      return history
    return kept(history, mask)  # the 0/1 dropout mask

  def predict_scores(self, user_index, history):
    """a_T; before stage 3 (no trained feedback yet) the base recommender, T = 0."""
    del user_index
    return tf.cond(self.stage() < 3, lambda: self.unroll(history, 0)[0],
                   lambda: self.unroll(history, self.config.unroll_steps)[0])

  # -- schedule --------------------------------------------------------------
  def stage(self) -> tf.Tensor:
    """1, 2 or 3 from `self.epoch` and the stage lengths."""
    return self.stage_of_epoch(self.config.recommender_epochs, self.config.reward_epochs)

  def training_stage(self, epoch: int) -> tuple[str, tuple]:
    """The name of epoch `epoch`'s stage and the trackers it updates (the trainer's epoch line)."""
    config = self.config
    recommender = (self.loss_tracker.name, self.kl_tracker.name, self.beta_tracker.name)
    reward = (self.reward_loss_tracker.name, self.reward_real_tracker.name,
              self.reward_fake_tracker.name)
    if epoch < config.recommender_epochs:
      return "recommender pre-training", recommender
    if epoch < config.recommender_epochs + config.reward_epochs:
      return "reward pre-training", reward
    return "joint training", recommender + (self.neg_log_reward_tracker.name,) + reward

  # -- steps -----------------------------------------------------------------
  @staticmethod
  def ground_truth(history):
    """a ~ D: the user's items as a distribution (rows sum to 1); sparse for a sparse row."""
    totals = tf.maximum(row_sums(history), 1.0)
    if is_sparse(history):
      return with_values(history, history.values / tf.gather(totals, history.indices[:, 0]))
    return history / totals[:, None]

  def reward_step(self, history, mask, steps: int):
    """One step of phi on ground truth (real) vs a T-step recommendation (fake)."""
    logits, _ = self.unroll(history, steps, mask, training=True,
                            stream=noise_streams.CFSFL_REWARD_STREAM)
    recommended = tf.stop_gradient(tf.nn.softmax(logits))
    variables = self.virtual_user.reward_variables
    seen = self.virtual_user_history(history, mask)
    with tf.GradientTape() as tape:
      real = self.virtual_user.reward_logits(seen, self.ground_truth(history))
      fake = self.virtual_user.reward_logits(seen, recommended)
      # -log R(real) - log(1 - R(fake)), from the logits g.
      loss = base.average_loss(tf.nn.softplus(-real) + tf.nn.softplus(fake))
    self.reward_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    base.track_partial(self.reward_loss_tracker, loss)
    base.track_batch_mean(self.reward_real_tracker, tf.sigmoid(real))
    base.track_batch_mean(self.reward_fake_tracker, tf.sigmoid(fake))

  def recommender_step(self, history, mask):
    """Eq. 7: pi and F minimise ELBO(a_T) - log R(x, a_T) through the T steps."""
    beta = self.beta()
    actor_variables = self.actor.trainable_variables
    feedback_variables = (self.virtual_user.feedback_variables
                          if self.config.unroll_steps > 0 else [])
    with tf.GradientTape() as tape:
      logits, kl = self.unroll(history, self.config.unroll_steps, mask, training=True)
      nll = self.reconstruction_term(history, logits)
      neg_log_reward = tf.nn.softplus(-self.virtual_user.reward_logits(
          self.virtual_user_history(history, mask), tf.nn.softmax(logits)))
      loss = base.average_loss(nll + beta * kl + neg_log_reward)
      loss += tf.nn.scale_regularization_loss(self.actor.l2_penalty(self.objective.l2))
    gradients = tape.gradient(loss, actor_variables + feedback_variables)
    split = len(actor_variables)
    self.actor_optimizer.apply_gradients(zip(gradients[:split], actor_variables))
    if feedback_variables:
      self.feedback_optimizer.apply_gradients(zip(gradients[split:], feedback_variables))
    base.track_partial(self.loss_tracker, loss)
    base.track_batch_mean(self.kl_tracker, kl)
    self.beta_tracker.update_state(beta)
    base.track_batch_mean(self.neg_log_reward_tracker, neg_log_reward)

  def recommender_stage(self, history, mask):
    self.actor_mle_step(history, mask)  # v = 0: actor_input() appends zero feedback

  def reward_stage(self, history, mask):
    self.reward_step(history, mask, steps=0)  # Alg. 1 line 10: v = 0

  def joint_stage(self, history, mask):
    self.recommender_step(history, mask)
    self.reward_step(history, mask, self.config.unroll_steps)

  def train_step(self, batch):
    return self.staged_train_step(
        batch, [self.recommender_stage, self.reward_stage, self.joint_stage])

  @property
  def metrics(self):
    return super().metrics + [self.reward_loss_tracker, self.reward_real_tracker,
                              self.reward_fake_tracker, self.neg_log_reward_tracker]

  # -- evaluation ------------------------------------------------------------
  def scorer(self, steps: int | None = None) -> _LogitsScorer:
    """An `evaluate` scorer: the loop with `steps` rounds."""
    steps = self.config.unroll_steps if steps is None else steps
    return _LogitsScorer(lambda history: self.unroll(history, steps)[0])


def recommender_for(num_items: int, config: CFSFLConfig) -> Autoencoder:
  """`actor_for` reading [x, v]."""
  return actor_for(num_items, config, input_width=num_items + config.feedback_width)


def recommender_objective(config: CFSFLConfig, batch_size: int) -> ActorObjective:
  """`objective_for` with CF-SFL's l2 (config.l2 / batch_size)."""
  return objective_for(config, l2=config.l2 / batch_size)


def without_feedback(model: CFSFL, split, reporting, batch_size: int = 1000) -> dict:
  """Valid and test metrics of the trained loop at T = 0 (the feedback switched off)."""
  return {part: evaluate(model.scorer(steps=0), getattr(split, part), ks=reporting.ks,
                         metric_names=reporting.names, batch_size=batch_size).means
          for part in ("valid", "test")}


def build_cfsfl(split, run_config) -> Trainable:
  """`Trainable` of `train_cfsfl` (a `CFSFLConfig`): the recommender plus the virtual user.

  The run lasts recommender_epochs + reward_epochs + joint_epochs (the spec's
  stages). The report (results.json "cfsfl") records the stage lengths, T, the
  selected epoch's stage and the trained loop's metrics at T = 0; the
  "pretrained" milestone (results.json "milestones") is the best recommender
  of stage 1, with the paired test of CF-SFL against it.
  """
  cfsfl = run_config.method_config
  batch_size = run_config.batch_size or DEFAULT_BATCH_SIZE
  model = CFSFL(recommender_for(split.num_items, cfsfl),
                recommender_objective(cfsfl, batch_size), cfsfl, seed=run_config.seed)
  model.compile(optimizer=model.actor_optimizer)
  rows = UserRows(split.train, batch_size=batch_size, seed=run_config.seed,
                  sparse=sparse_rows_for(run_config))

  def report(trained, run_split, reporting):
    return {"cfsfl": {
        "stage_epochs": {"recommender": cfsfl.recommender_epochs,
                         "reward": cfsfl.reward_epochs, "joint": cfsfl.joint_epochs},
        "unroll_steps": cfsfl.unroll_steps,
        "recommender": cfsfl.actor,
        "recommender_l2_per_batch_mean": cfsfl.l2 / batch_size,
        "selected_stage": int(trained.stage().numpy()),
        "no_feedback": without_feedback(trained, run_split, reporting,
                                        run_config.eval_batch_size)}}

  return Trainable(model=model, dataset_fn=rows, examples_per_epoch=rows.num_users,
                   report=report, milestones={"pretrained": cfsfl.recommender_epochs})


SPEC = MethodSpec(
    name="cfsfl", label="CF-SFL", config=CFSFLConfig, build=build_cfsfl, role="proposed",
    binary="train_cfsfl", family="cfsfl",
    stages=("recommender_epochs", "reward_epochs", "joint_epochs"), default_protocol="strong")

