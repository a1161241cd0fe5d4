"""Plain training of an autoencoder actor (Mult-VAE, Mult-DAE, MF, WARP, ...).

`AutoencoderModel` trains one actor from `tfrankcf.backbones.autoencoders`
(its architecture) with an `ActorObjective` (what it is trained with; the
published actors' own objectives are `OBJECTIVES`): reconstruction term +
beta * KL + l2 on an input dropped out with keep_prob, where the KL
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

The actor's optimiser is `tfrankcf.optimizers.fused_adam.FusedAdam`: Keras's
Adam (same slots and update) in TensorFlow's one-pass kernel.

`ActorSettings` are the settings of an actor that a run chooses (RaCT and
CF-SFL extend them); `AutoencoderConfig` adds the reconstruction term of a plain
autoencoder run. `actor_for` and `objective_for` turn them into the actor and
its objective. `SPEC` (`train_baseline --method=vae|dae|mf|warp`) names
one variant per actor and per actor with another reconstruction term.
"""

import dataclasses
from typing import Literal

import tensorflow as tf

from tfrankcf.backbones.autoencoders import (ACTORS, Autoencoder, build_actor, dense_rows,
                                             encoder_input, is_sparse, sparse_multinomial_nll,
                                             with_values)
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.losses.reconstruction import (CANDIDATES, LIST_LOSSES, Reconstruction,
                                            get_reconstruction, multinomial_nll)
from tfrankcf.methods import base, noise_streams
from tfrankcf.methods.spec import LOSS_CHOICES, LOSS_LABELS, MethodSpec, Variant
from tfrankcf.methods.trainable import Trainable
from tfrankcf.optimizers.fused_adam import FusedAdam

DEFAULT_BATCH_SIZE = 500  # users per batch, Mult-VAE and RaCT


@dataclasses.dataclass(frozen=True)
class ActorObjective:
  """What an autoencoder actor is trained with (its architecture: `ActorConfig`).

  Attributes:
    reconstruction: name in `tfrankcf.losses.reconstruction.RECONSTRUCTIONS`
      or `LIST_LOSSES` (a TF-Ranking loss).
    candidates: a list loss's items, "sampled" lists or "all" (ApproxNDCG only).
    list_size: items per sampled list of a list loss.
    memory_budget_mb: memory bound of the full-catalogue ApproxNDCG.
    l2: coefficient of sum(kernel^2) added to the batch-mean loss.
    keep_prob: probability of keeping an input item in training (the input
      dropout: a training-time corruption, not a part of the network).
    beta_max: cap of the KL weight.
    anneal_steps: KL weight = min(step / anneal_steps, beta_max) per batch
      (Mult-VAE and RaCT code).
    anneal_epochs: if > 0, the paper's schedule (RaCT Table 5) instead:
      beta_max * min(1, epoch / anneal_epochs).
  """

  reconstruction: str = "multinomial"
  candidates: str = "sampled"
  list_size: int = 100
  memory_budget_mb: float = 1024.0
  l2: float = 0.0
  keep_prob: float = 0.5
  beta_max: float = 0.2
  anneal_steps: int = 200_000
  anneal_epochs: int = 0

  def reconstruction_term(self) -> Reconstruction:
    """The (labels, logits) -> [B] term named by `reconstruction` (InputError if bad)."""
    return get_reconstruction(self.reconstruction, candidates=self.candidates,
                              list_size=self.list_size, memory_budget_mb=self.memory_budget_mb)


# The objectives of the actors of `backbones.autoencoders.ACTORS` (same sources).
OBJECTIVES: dict[str, ActorObjective] = {
    # Mult-VAE: multinomial, KL.
    "vae": ActorObjective(),
    # vae_cf Mult-DAE: lambda = 0.01 / batch 500 on kernels.
    "dae": ActorObjective(l2=0.01 / 500),
    # Table 2 "VAE (Gaussian)": the weighted Gaussian term.
    "vae_gaussian": ActorObjective(reconstruction="gaussian"),
    # Table 2 "VAE (beta = 0)": l2 1e-5 (main_dae.py).
    "vae_beta0": ActorObjective(l2=1e-5),
    # Table 2 "VAE (Linear)".
    "vae_linear": ActorObjective(),
    # MF with a Gaussian likelihood: weighted squared error.
    "mf": ActorObjective(reconstruction="gaussian", l2=1e-4),
    # WARP actor: margin-free WARP.
    "warp": ActorObjective(reconstruction="warp", l2=1e-4),
}


def actor_objective(name: str, **overrides) -> ActorObjective:
  """The objective of actor `name` (`OBJECTIVES`), with any `ActorObjective` field overridden."""
  if name not in OBJECTIVES:
    raise InputError(f"unknown actor '{name}' (choose from {', '.join(OBJECTIVES)})")
  fields = {f.name for f in dataclasses.fields(ActorObjective)}
  unknown = sorted(set(overrides) - fields)
  if unknown:
    raise InputError(f"unknown objective option(s) {', '.join(unknown)}")
  return dataclasses.replace(OBJECTIVES[name], **overrides)


class AutoencoderModel(base.Model):
  """An autoencoder actor trained by maximum likelihood on `objective`.

  `reconstruction`: a (labels, logits) -> [B] callable replacing the term the
  objective names.
  """

  def __init__(self, actor: Autoencoder, objective: ActorObjective, seed: int = 0,
               learning_rate: float = 1e-3, reconstruction: Reconstruction | None = None,
               **kwargs):
    super().__init__(actor.num_items, **kwargs)
    self.actor = actor
    self.objective = objective
    self.reconstruction = reconstruction or objective.reconstruction_term()
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

  @property
  def jit_compile_blockers(self) -> list[str]:
    """The layers' (`base.Model`) and the reconstruction term's reasons XLA cannot compile."""
    blocker = getattr(self.reconstruction, "jit_compile_blocker", None)
    return super().jit_compile_blockers + ([blocker] if blocker else [])

  # -- schedule and noise ----------------------------------------------------
  def beta(self) -> tf.Tensor:
    """The KL weight of the current batch."""
    config = self.objective
    if config.anneal_epochs > 0:
      progress = tf.cast(self.epoch, tf.float32) / config.anneal_epochs
      return config.beta_max * tf.minimum(progress, 1.0)
    return tf.minimum(tf.cast(self.step, tf.float32) / config.anneal_steps,
                      config.beta_max)

  def noise_seed(self, stream: int) -> tf.Tensor:
    """A stateless seed [2] for random stream `stream` (`noise_streams`) of the current step."""
    base_seed = tf.constant([self.seed, stream], tf.int64)
    return base.replica_seed(tf.random.experimental.stateless_fold_in(base_seed, self.step))

  def sample_mask(self, history):
    """Bernoulli(keep_prob) mask b: the encoder's input dropout.

    Dense [B, M] for a dense history; for a sparse one a SparseTensor of its
    positions (the draws of the non-zeros only, module doc).
    """
    return dropout_mask(history, self.objective.keep_prob,
                        self.noise_seed(noise_streams.DROPOUT_STREAM))

  def observed_input(self, history, mask=None):
    """The normalised history; with `mask`, dropped out as in training."""
    if mask is None:
      return encoder_input(history)
    return encoder_input(history, mask, self.objective.keep_prob)

  def actor_input(self, history: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """What the actor reads: the observed input (CF-SFL appends its feedback columns)."""
    return self.observed_input(history, mask)

  def forward(self, history: tf.Tensor, mask: tf.Tensor | None = None,
              training: bool = False):
    """Actor logits [B, M] and KL [B]; with `mask`, the training-time pass."""
    inputs = self.actor_input(history, mask)
    if mask is None:
      return self.actor(inputs, training=False)
    return self.actor(inputs, training=training,
                      seed=self.noise_seed(noise_streams.LATENT_STREAM))

  # -- scoring ---------------------------------------------------------------
  def predict_scores(self, user_index, history):
    del user_index  # autoencoders score from the history alone
    return self.forward(history)[0]

  def score_tf(self, user_index, history):
    """The evaluator's compiled scorer: the sparse history read as such (no dense copy)."""
    return self.predict_scores(user_index, history)

  # -- training --------------------------------------------------------------
  def reconstruction_term(self, labels, logits: tf.Tensor, seed=None) -> tf.Tensor:
    """The reconstruction term [B] of `labels` (dense or sparse rows) and `logits` [B, M].

    The multinomial reads a sparse row's non-zeros only (log-softmax over the
    whole catalogue, gathered at the items); another term gets the dense row.
    `seed`: a stochastic term's stateless seed.
    """
    if is_sparse(labels) and self.reconstruction is multinomial_nll:
      return sparse_multinomial_nll(labels, logits)
    labels = dense_rows(labels)
    if seed is None:
      return self.reconstruction(labels, logits)
    return self.reconstruction(labels, logits, seed=seed)

  def reconstruction_loss(self, labels, logits: tf.Tensor) -> tf.Tensor:
    """The reconstruction term [B]; a stochastic one draws from this step's seed."""
    if getattr(self.reconstruction, "stochastic", False):
      seed = self.noise_seed(noise_streams.RECONSTRUCTION_STREAM)
      return self.reconstruction_term(labels, logits, seed=seed)
    return self.reconstruction_term(labels, logits)

  def actor_mle_step(self, history: tf.Tensor, mask: tf.Tensor):
    """One optimiser step on the actor's own objective; returns (nll [B], logits)."""
    beta = self.beta()
    with tf.GradientTape() as tape:
      logits, kl = self.forward(history, mask, training=True)
      nll = self.reconstruction_loss(history, logits)
      loss = base.average_loss(nll + beta * kl)
      loss += tf.nn.scale_regularization_loss(self.actor.l2_penalty(self.objective.l2))
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


BASELINE_ACTORS = {"vae": "Mult-VAE", "dae": "Mult-DAE", "mf": "MF (Gaussian)",
                   "warp": "WARP"}  # train_baseline --method: label
# A plain autoencoder's reconstruction terms besides its own (train_baseline --loss).
AUTOENCODER_LOSSES = ("multinomial",) + LIST_LOSSES
ActorName = Literal[tuple(ACTORS)]


@dataclasses.dataclass
class ActorSettings:
  """The autoencoder actor a run trains and its KL schedule (RaCT's and CF-SFL's too).

  Attributes:
    actor: Autoencoder actor (RaCT Table 2).
    beta_max: Cap of the KL weight (0.2 ML-20M/Netflix, 0.1 MSD).
    anneal_steps: KL weight = min(batch / anneal_steps, beta_max), per batch (code).
    anneal_epochs: If > 0: KL weight = beta_max * min(1, epoch / anneal_epochs) (the
      paper's epoch schedule) instead.
    dae_hidden: Mult-DAE hidden units (200 vae_cf, 600 RaCT F.4).
    actor_learning_rate: Adam learning rate of the actor.
  """

  actor: ActorName = "vae"
  beta_max: float = dataclasses.field(default=0.2, metadata={"lower_bound": 0})
  anneal_steps: int = dataclasses.field(default=200_000, metadata={"lower_bound": 1})
  anneal_epochs: int = dataclasses.field(default=0, metadata={"lower_bound": 0})
  dae_hidden: int = dataclasses.field(default=200, metadata={"lower_bound": 1})
  actor_learning_rate: float = dataclasses.field(default=1e-3, metadata={"lower_bound": 0})


@dataclasses.dataclass
class AutoencoderConfig(ActorSettings):
  """A plain autoencoder run: the actor and its reconstruction term.

  Attributes:
    loss: Reconstruction term of the autoencoder (default its own, multinomial for
      vae/dae; or a TF-Ranking loss).
    candidates: --loss on sampled lists of --list_size items per user, or on all items
      (approx_ndcg only: the full-catalogue ApproxNDCG).
    list_size: Items per sampled list of a TF-Ranking --loss, half positives.
    memory_budget_mb: --candidates=all: memory bound of the ApproxNDCG's chunks over items.
  """

  loss: Literal[LOSS_CHOICES] | None = None
  candidates: Literal[CANDIDATES] = "sampled"
  list_size: int = dataclasses.field(default=100, metadata={"lower_bound": 2})
  memory_budget_mb: float = dataclasses.field(default=1024.0, metadata={"lower_bound": 1})

  def reconstruction_overrides(self) -> dict:
    """The `ActorObjective` overrides of another reconstruction term ({} for the actor's own)."""
    if self.loss is None or self.loss == OBJECTIVES[self.actor].reconstruction:
      return {}
    return {"reconstruction": self.loss, "candidates": self.candidates,
            "list_size": self.list_size, "memory_budget_mb": self.memory_budget_mb}


def check_autoencoder(config: AutoencoderConfig) -> None:
  """Refuses a reconstruction term the actor cannot train with, before any data is read."""
  own = OBJECTIVES[config.actor].reconstruction
  loss = config.loss or own
  if loss not in AUTOENCODER_LOSSES and loss != own:
    raise InputError(f"--loss={loss} is not an autoencoder term; choose from "
                     f"{', '.join(AUTOENCODER_LOSSES)}")
  get_reconstruction(loss, candidates=config.candidates, list_size=config.list_size,
                     memory_budget_mb=config.memory_budget_mb)  # InputError if bad


def actor_for(num_items: int, settings: ActorSettings,
              input_width: int | None = None) -> Autoencoder:
  """The architecture of actor `settings.actor`.

  `settings.dae_hidden` sets Mult-DAE's hidden width; `input_width` widens the
  encoder's input (CF-SFL's [x, feedback]).
  """
  values = {"latent_dim": int(settings.dae_hidden)} if settings.actor == "dae" else {}
  return build_actor(settings.actor, num_items, input_width=input_width, **values)


def objective_for(settings: ActorSettings, **overrides) -> ActorObjective:
  """The objective of actor `settings.actor` with the settings' KL schedule and `overrides`."""
  return actor_objective(settings.actor, beta_max=settings.beta_max,
                         anneal_steps=settings.anneal_steps,
                         anneal_epochs=settings.anneal_epochs, **overrides)


def build_autoencoder(split, run_config) -> Trainable:
  """`Trainable` of `train_baseline --method=vae|dae|mf|warp` (an `AutoencoderConfig`)."""
  config = run_config.method_config
  model = AutoencoderModel(actor_for(split.num_items, config),
                           objective_for(config, **config.reconstruction_overrides()),
                           seed=run_config.seed, learning_rate=config.actor_learning_rate)
  model.compile(optimizer=model.actor_optimizer)
  rows = UserRows(split.train, batch_size=run_config.batch_size or DEFAULT_BATCH_SIZE,
                  seed=run_config.seed, sparse=sparse_rows_for(run_config))
  return Trainable(model=model, dataset_fn=rows, examples_per_epoch=rows.num_users)


def _variants() -> tuple:
  found = []
  for actor, label in BASELINE_ACTORS.items():
    family = f"{actor}-losses" if actor in ("vae", "dae") else None
    listed = family is not None
    found.append(Variant(actor, label, {"actor": actor}, family=family))
    for loss in AUTOENCODER_LOSSES:
      if loss == OBJECTIVES[actor].reconstruction:
        continue
      found.append(Variant(f"{actor}_{loss}", f"{label}, {LOSS_LABELS.get(loss, loss)}",
                           {"actor": actor, "loss": loss}, family=family,
                           listed=listed and loss != "multinomial"))
    found.append(Variant(f"{actor}_approx_ndcg_all", f"{label}, full ApproxNDCG",
                         {"actor": actor, "loss": "approx_ndcg", "candidates": "all"},
                         family=family, listed=listed))
  return tuple(found)


SPEC = MethodSpec(
    name="autoencoder", label="autoencoders", config=AutoencoderConfig,
    build=build_autoencoder, binary="train_baseline",
    selected_by={actor: {"actor": actor} for actor in BASELINE_ACTORS},
    compare_defaults=("--epochs=200",), variants=_variants(), check=check_autoencoder,
    help_title="autoencoders (--method=vae|dae|mf|warp)")
