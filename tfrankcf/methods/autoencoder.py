"""Plain training of an autoencoder actor (Mult-VAE, Mult-DAE, MF, WARP, ...).

`AutoencoderModel` trains one actor from `tfrankcf.backbones.autoencoders`
with its own objective: reconstruction term + beta * KL + l2, where the KL
weight follows the Mult-VAE code's per-batch schedule
beta = min(step / anneal_steps, beta_max), step counting every batch of the
run from 1 (or the paper's per-epoch schedule). The step counter, the epoch
and the optimiser are model attributes, so a checkpoint resumes the schedule.

The reconstruction term may be a TF-Ranking loss (`--loss`): on sampled
candidate lists, drawn in the step, or the full-catalogue ApproxNDCG; the KL
term, its annealing and the input dropout stay as they are.

All randomness of a batch (dropout mask, latent noise, sampled lists) is drawn
statelessly from (seed, step): a resumed run repeats it exactly. Under
tf.distribute each replica folds in its id, so its users get their own draws.

The history may be dense [B, M] or a `tf.SparseTensor` (`UserRows(sparse=True)`,
what the builders use unless the run is distributed or XLA-compiled: the
first layer then reads only the non-zeros, see `backbones.autoencoders`).
The dropout mask of a dense history is one uniform per entry of [B, M] (the
stream of the releases before sparse inputs); of a sparse one, one uniform per
non-zero, in the batch's row-major order: the same Bernoulli(keep) dropout
on the items and deterministic in (seed, step), but another stream, so a
sparse run's draws differ from a dense run's (equal in distribution).

The actor's optimiser is `FusedAdam`: Keras's Adam (same slots and update) in
TensorFlow's one-pass kernel.

`build_autoencoder(split, config)` is the `train_baseline --method=vae|dae|mf|warp`
entry point.
"""

import tensorflow as tf

from tfrankcf.backbones.autoencoders import (Autoencoder, build_actor, encoder_input, is_sparse,
                                             with_values)
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods import base

DEFAULT_BATCH_SIZE = 500  # users per batch, Mult-VAE and RaCT
# Streams of `noise_seed`: 0 dropout mask, 1 latent noise (2, 3: CF-SFL; 7: RaCT).
_RECONSTRUCTION_STREAM = 4  # a stochastic reconstruction term's draws


class FusedAdam(tf.keras.optimizers.Adam):
  """Keras's Adam with each variable's update in TensorFlow's fused `ResourceApplyAdam`.

  The same slots (so the same checkpoints) and the same arithmetic as Keras's
  dense update, m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2),
  w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), in one pass over the
  variable instead of a dozen: for the autoencoders' two [M, H] kernels the
  optimiser step is a large share of a batch. Adam's update touches every row
  (the moments decay everywhere), so a sparse gradient (`IndexedSlices`, the
  sparse first layer's) is summed into a dense one first, which is cheaper
  than Keras's own sparse update (decay, then scatter, per moment).
  """

  def update_step(self, gradient, variable):
    if self.amsgrad:
      return super().update_step(gradient, variable)
    dtype = variable.dtype
    local_step = tf.cast(self.iterations + 1, dtype)
    key = self._var_key(variable)
    if isinstance(gradient, tf.IndexedSlices):
      gradient = tf.math.unsorted_segment_sum(gradient.values, gradient.indices,
                                              tf.shape(variable, out_type=tf.int64)[0])
    return tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[self._index_dict[key]].handle,
        v=self._velocities[self._index_dict[key]].handle,
        beta1_power=tf.pow(tf.cast(self.beta_1, dtype), local_step),
        beta2_power=tf.pow(tf.cast(self.beta_2, dtype), local_step),
        lr=tf.cast(self.learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
        beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
        grad=gradient)


class AutoencoderModel(base.Model):
  """An autoencoder actor trained by maximum likelihood."""

  def __init__(self, actor: Autoencoder, seed: int = 0, learning_rate: float = 1e-3,
               **kwargs):
    super().__init__(actor.num_items, **kwargs)
    self.actor = actor
    self.seed = int(seed)
    # Counted in every replica's step: mirrored, the first replica's update kept.
    first = tf.VariableAggregation.ONLY_FIRST_REPLICA
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                            aggregation=first)
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch",
                             aggregation=first)
    self.actor_optimizer = FusedAdam(learning_rate)
    self.actor_optimizer.build(actor.trainable_variables)
    self.kl_tracker = tf.keras.metrics.Mean(name="kl")
    self.beta_tracker = tf.keras.metrics.Mean(name="beta")

  # -- schedule and noise ----------------------------------------------------
  def beta(self) -> tf.Tensor:
    """The KL weight of the current batch."""
    config = self.actor.config
    if config.anneal_epochs > 0:
      progress = tf.cast(self.epoch, tf.float32) / config.anneal_epochs
      return config.beta_max * tf.minimum(progress, 1.0)
    return tf.minimum(tf.cast(self.step, tf.float32) / config.anneal_steps,
                      config.beta_max)

  def noise_seed(self, stream: int) -> tf.Tensor:
    """A stateless seed [2] for random stream `stream` of the current step."""
    base_seed = tf.constant([self.seed, stream], tf.int64)
    return base.replica_seed(tf.random.experimental.stateless_fold_in(base_seed, self.step))

  def sample_mask(self, history):
    """Bernoulli(keep_prob) mask b: the encoder's input dropout.

    Dense [B, M] for a dense history; for a sparse one a SparseTensor of its
    positions (the draws of the non-zeros only, module doc).
    """
    return dropout_mask(history, self.actor.config.keep_prob, self.noise_seed(0))

  def observed_input(self, history, mask=None):
    """The normalised history; with `mask`, dropped out as in training."""
    if mask is None:
      return encoder_input(history)
    return encoder_input(history, mask, self.actor.config.keep_prob)

  def actor_input(self, history: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """What the actor reads: the observed input (CF-SFL appends its feedback columns)."""
    return self.observed_input(history, mask)

  def forward(self, history: tf.Tensor, mask: tf.Tensor | None = None,
              training: bool = False):
    """Actor logits [B, M] and KL [B]; with `mask`, the training-time pass."""
    inputs = self.actor_input(history, mask)
    if mask is None:
      return self.actor(inputs, training=False)
    return self.actor(inputs, training=training, seed=self.noise_seed(1))

  # -- scoring ---------------------------------------------------------------
  def predict_scores(self, user_index, history):
    del user_index  # autoencoders score from the history alone
    return self.forward(history)[0]

  def score_tf(self, user_index, history):
    """The evaluator's compiled scorer: the sparse history read as such (no dense copy)."""
    return self.predict_scores(user_index, history)

  # -- training --------------------------------------------------------------
  def reconstruction_loss(self, labels, logits: tf.Tensor) -> tf.Tensor:
    """The actor's reconstruction term [B]; a stochastic one draws from this step's seed."""
    if getattr(self.actor.reconstruction, "stochastic", False):
      return self.actor.reconstruction_term(labels, logits,
                                            seed=self.noise_seed(_RECONSTRUCTION_STREAM))
    return self.actor.reconstruction_term(labels, logits)

  def actor_mle_step(self, history: tf.Tensor, mask: tf.Tensor):
    """One optimiser step on the actor's own objective; returns (nll [B], logits)."""
    beta = self.beta()
    with tf.GradientTape() as tape:
      logits, kl = self.forward(history, mask, training=True)
      nll = self.reconstruction_loss(history, logits)
      loss = base.average_loss(nll + beta * kl)
      loss += tf.nn.scale_regularization_loss(self.actor.l2_penalty())
    variables = self.actor.trainable_variables
    self.actor_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    base.track_partial(self.loss_tracker, loss)
    base.track_batch_mean(self.kl_tracker, kl)
    self.beta_tracker.update_state(beta)
    return nll, logits

  def train_step(self, batch):
    history = batch["history"]
    self.step.assign_add(1)
    self.actor_mle_step(history, self.sample_mask(history))
    return {m.name: m.result() for m in self.metrics}

  # -- multi-stage schedules (RaCT, CF-SFL) ----------------------------------
  def stage_of_epoch(self, first: int, second: int) -> tf.Tensor:
    """1, 2 or 3: `self.epoch` within stages of `first`, then `second` epochs, then the rest."""
    return tf.where(self.epoch < first, 1, tf.where(self.epoch < first + second, 2, 3))

  def prepare_epoch(self, epoch, dataset):
    """Under tf.distribute, retraces the training step when the stage changes."""
    super().prepare_epoch(epoch, dataset)
    if hasattr(self, "stage") and base.is_distributed(self.distribute_strategy):
      stage = int(self.stage().numpy())
      if stage != getattr(self, "_traced_stage", None):
        self._traced_stage = stage
        self.train_function = None  # Keras traces a new one

  def staged_train_step(self, batch, stage_fns) -> dict:
    """One batch: a new dropout mask, then `stage_fns[stage - 1](history, mask)`.

    Under tf.distribute the stage is the one of `prepare_epoch`, fixed when
    the step is traced: MirroredStrategy cannot all-reduce gradients inside
    `tf.switch_case`.
    """
    history = batch["history"]
    self.step.assign_add(1)
    mask = self.sample_mask(history)
    if base.is_distributed(self.distribute_strategy):
      stage_fns[self._traced_stage - 1](history, mask)
      return {m.name: m.result() for m in self.metrics}

    def run(stage_fn):
      def branch():
        stage_fn(history, mask)
        return tf.constant(0)
      return branch

    tf.switch_case(self.stage() - 1, [run(fn) for fn in stage_fns])
    return {m.name: m.result() for m in self.metrics}

  @property
  def metrics(self):
    return [self.loss_tracker, self.kl_tracker, self.beta_tracker]


def dropout_mask(history, keep_prob: float, seed: tf.Tensor):
  """Bernoulli(keep_prob) mask of `history` from the stateless `seed` [2] (module doc)."""
  if is_sparse(history):
    uniform = tf.random.stateless_uniform(tf.shape(history.values), seed=seed)
    return with_values(history, tf.cast(uniform < keep_prob, history.dtype))
  uniform = tf.random.stateless_uniform(tf.shape(history), seed=seed)
  return tf.cast(uniform < keep_prob, history.dtype)


def sparse_rows_for(config) -> bool:
  """Whether a run's training batches are sparse: not under --jit_compile (XLA needs the
  static shapes of the dense rows) nor tf.distribute (the batch is cut per replica by
  slicing, which a `tf.SparseTensor` does not support)."""
  return not getattr(config, "jit_compile", False) and not tf.distribute.has_strategy()


ACTOR_PARAMS = ("encoder_dims", "latent_dim", "decoder_dims", "l2", "keep_prob",
                "beta_max", "anneal_steps", "anneal_epochs", "reconstruction", "candidates",
                "list_size", "memory_budget_mb")


def actor_from_params(num_items: int, params: dict,
                      input_width: int | None = None) -> Autoencoder:
  """The actor named by params["actor"] (default vae) with the params' overrides.

  params["dae_hidden"] sets Mult-DAE's hidden width (200 vae_cf, 600 RaCT F.4);
  `input_width` widens the encoder's input (CF-SFL's [x, feedback]).
  """
  name = params.get("actor", "vae")
  overrides = {key: params[key] for key in ACTOR_PARAMS if key in params}
  if name == "dae" and "dae_hidden" in params:
    overrides["latent_dim"] = int(params["dae_hidden"])
  return build_actor(name, num_items, input_width=input_width, **overrides)


def build_autoencoder(split, config):
  """`Trainable` for `train_baseline --method=vae|dae|mf|warp` (params: see ACTOR_PARAMS)."""
  from tfrankcf.training.run import Trainable  # pylint: disable=g-import-not-at-top
  params = dict(config.params)
  params.setdefault("actor", config.method)
  model = AutoencoderModel(actor_from_params(split.num_items, params), seed=config.seed,
                           learning_rate=params.get("actor_learning_rate", 1e-3))
  model.compile(optimizer=model.actor_optimizer)
  rows = UserRows(split.train, batch_size=config.batch_size or DEFAULT_BATCH_SIZE,
                  seed=config.seed, sparse=sparse_rows_for(config))
  return Trainable(model=model, dataset_fn=rows, examples_per_epoch=rows.num_users)
