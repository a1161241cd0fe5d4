"""GuidedRec (Rashed et al.): a backbone guided by a learned NDCG surrogate (Algorithm 1).

Every list-wise batch, in the order of the paper's Algorithm 1 and the code:

(a) `logloss_step`: one step of beta * log loss on the backbone (the
    stabiliser; skipped with `stabilizer="none"`);
(b) the backbone scores the batch again (after (a)), s = sigmoid(logits), and
    the true NDCG@K of every list is computed in-graph
    (`tfrankcf.metrics.ranking_tf.ndcg_at_k`);
(c) `surrogate_step`: one step of the surrogate towards the true NDCG (squared
    error), fed stop_gradient(s): the backbone is frozen;
(d) `ndcg_step`: one step of the backbone maximising the (just updated)
    surrogate's NDCG of s, the surrogate frozen.

`guided_steps` runs (b)-(d) on ONE forward pass of the backbone: (c) changes
only the surrogate, so the scores of (b) are still the backbone's scores in
(d); the tape of (b) is reused for (d). A step therefore costs two backbone
forward/backward passes (the log-loss step's and this one), the minimum for
this order. With `leaky_gradients` (paper Section 5.5) neither model is frozen:
(c) also moves the backbone along the surrogate loss and (d) also moves the
surrogate along the NDCG loss, each with that step's optimiser (and (d) then
scores the batch afresh).

Each step has its own AdamW with the decoupled decay of TF1's contrib
AdamWOptimizer (`var -= decay * var`, not scaled by the learning rate; see
`tfrankcf.optimizers.adamw.AdamW`). Defaults are the ML-100K code's; the
code's NDCG and surrogate decays are the paper's Table 5 values swapped, and
`paper_decays=True` swaps them back. `loss_reduction="sum"` (the code and
eq. 9-11): sums over the batch, the surrogate loss with tf.nn.l2_loss's 1/2;
"mean": means over the global batch and no 1/2.
"""

import dataclasses
from typing import Literal

import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses.pairwise import REDUCTIONS, reduce_pairwise_loss
from tfrankcf.methods import base
from tfrankcf.methods.spec import MethodSpec, Variant
from tfrankcf.methods.supervised import BackboneConfig, PairwiseModel, build_listwise
from tfrankcf.methods.trainable import Trainable
from tfrankcf.methods.surrogate import ARCHITECTURES, SurrogateNDCG
from tfrankcf.metrics.ranking_tf import ndcg_at_k
from tfrankcf.optimizers.adamw import AdamW

STABILIZERS = ("logloss", "none")


@dataclasses.dataclass
class GuidedRecConfig(BackboneConfig):
  """GuidedRec settings on top of the backbone's (defaults: the ML-100K code).

  Attributes:
    surrogate: Surrogate architecture (eq. 4-8; ensemble = MLP x NFM; Table 4).
    surrogate_mlp_layers: v of Table 5.
    surrogate_pair_layers: g of Table 5.
    surrogate_nfm_layers: e of Table 5.
    surrogate_head_layers: h of Table 5 (it also ends in 1 unit).
    stabilizer: Keep the log-loss step (a) (RQ3) or train through the surrogate only.
    beta: Weight of the log loss (eq. 9).
    leaky_gradients: Do not freeze the other model in steps (c) and (d) (Section 5.5).
    loss_reduction: Sum the losses over the batch (code, eq. 9-11) or average them.
    logloss_learning_rate: Step (a) learning rate (Table 5).
    logloss_weight_decay: Step (a) AdamW decay (Table 5).
    ndcg_learning_rate: Step (d) learning rate (Table 5).
    ndcg_weight_decay: Step (d) AdamW decay (code; Table 5: 1e-6).
    surrogate_learning_rate: Step (c) learning rate (Table 5).
    surrogate_weight_decay: Step (c) AdamW decay (code; Table 5: 8e-5).
    paper_decays: Swap the NDCG and surrogate decays to Table 5's assignment (1e-6 for
      NDCG and 8e-5 for the surrogate on ML-100K; the code the reverse).
  """

  surrogate: Literal[tuple(ARCHITECTURES)] = "ensemble"
  surrogate_mlp_layers: tuple = dataclasses.field(default=(20, 20), metadata={"flag": False})
  surrogate_pair_layers: tuple = dataclasses.field(default=(20,), metadata={"flag": False})
  surrogate_nfm_layers: tuple = dataclasses.field(default=(20,), metadata={"flag": False})
  surrogate_head_layers: tuple = dataclasses.field(default=(8,), metadata={"flag": False})
  stabilizer: Literal[STABILIZERS] = "logloss"
  beta: float = dataclasses.field(default=1.0, metadata={"lower_bound": 0})
  leaky_gradients: bool = False
  loss_reduction: Literal[tuple(REDUCTIONS)] = "sum"
  logloss_learning_rate: float = dataclasses.field(default=1e-3, metadata={"lower_bound": 0})
  logloss_weight_decay: float = dataclasses.field(default=1e-5, metadata={"lower_bound": 0})
  ndcg_learning_rate: float = dataclasses.field(default=1.3e-3, metadata={"lower_bound": 0})
  ndcg_weight_decay: float = dataclasses.field(default=8e-5, metadata={"lower_bound": 0})
  surrogate_learning_rate: float = dataclasses.field(default=2e-3,
                                                     metadata={"lower_bound": 0})
  surrogate_weight_decay: float = dataclasses.field(default=1e-6,
                                                    metadata={"lower_bound": 0})
  paper_decays: bool = False

  def __post_init__(self):
    super().__post_init__()
    for name, value, valid in (("surrogate", self.surrogate, ARCHITECTURES),
                               ("stabilizer", self.stabilizer, STABILIZERS),
                               ("loss_reduction", self.loss_reduction, REDUCTIONS)):
      if value not in valid:
        raise InputError(f"unknown {name} '{value}'; valid: {', '.join(valid)}")

  @property
  def decays(self) -> tuple[float, float]:
    """(NDCG-step decay, surrogate-step decay) actually applied."""
    if self.paper_decays:
      return self.surrogate_weight_decay, self.ndcg_weight_decay
    return self.ndcg_weight_decay, self.surrogate_weight_decay


class GuidedRec(PairwiseModel):
  """Backbone + surrogate NDCG network trained by Algorithm 1."""

  def __init__(self, matrix: sp.csr_matrix, config: GuidedRecConfig = GuidedRecConfig(),
               seed: int = 0, **kwargs):
    super().__init__(matrix, config, seed, **kwargs)
    self.surrogate = SurrogateNDCG(
        config.surrogate, config.surrogate_mlp_layers, config.surrogate_pair_layers,
        config.surrogate_nfm_layers, config.surrogate_head_layers, config.init_stddev,
        seed=seed + 10, name="surrogate")
    empty = tf.zeros([1, config.list_size])
    self.surrogate(empty, empty)  # creates the variables
    backbone = self.backbone_variables
    ndcg_decay, surrogate_decay = config.decays
    self.logloss_optimizer = AdamW(config.logloss_learning_rate, config.logloss_weight_decay)
    self.surrogate_optimizer = AdamW(config.surrogate_learning_rate, surrogate_decay)
    self.ndcg_optimizer = AdamW(config.ndcg_learning_rate, ndcg_decay)
    self.logloss_optimizer.build(backbone)
    self.surrogate_optimizer.build(self._surrogate_step_variables)
    self.ndcg_optimizer.build(self._ndcg_step_variables)
    self.logloss_tracker = tf.keras.metrics.Mean(name="logloss")
    self.surrogate_loss_tracker = tf.keras.metrics.Mean(name="surrogate_loss")
    self.true_ndcg_tracker = tf.keras.metrics.Mean(name="true_ndcg")
    self.surrogate_ndcg_tracker = tf.keras.metrics.Mean(name="surrogate_ndcg")
    self.surrogate_error_tracker = tf.keras.metrics.Mean(name="surrogate_error")

  @property
  def backbone_variables(self) -> list:
    return self.backbone.trainable_variables

  @property
  def surrogate_variables(self) -> list:
    return self.surrogate.trainable_variables

  @property
  def _surrogate_step_variables(self) -> list:
    leaked = self.backbone_variables if self.config.leaky_gradients else []
    return self.surrogate_variables + leaked

  @property
  def _ndcg_step_variables(self) -> list:
    leaked = self.surrogate_variables if self.config.leaky_gradients else []
    return self.backbone_variables + leaked

  # -- objectives ------------------------------------------------------------
  def _reduce(self, example_losses: tf.Tensor) -> tf.Tensor:
    return reduce_pairwise_loss(example_losses, self.config.loss_reduction)

  def logloss_objective(self, batch) -> tf.Tensor:
    """beta * reduce(sigmoid cross-entropy of every pair), eq. 9."""
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=batch["labels"],
                                                     logits=self.logits(batch))
    return self.config.beta * self._reduce(tf.reshape(losses, [-1]))

  def probabilities_and_targets(self, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """s = sigmoid(logits) [B, K] and the true NDCG@K [B] of each list (constant)."""
    probabilities = tf.sigmoid(self.logits(batch))
    targets = ndcg_at_k(batch["labels"], tf.stop_gradient(probabilities),
                        self.config.list_size)
    return probabilities, tf.stop_gradient(targets)

  def surrogate_objective(self, probabilities, labels, targets):
    """(eq. 10 loss, surrogate's estimates [B]); the backbone frozen unless leaky."""
    if not self.config.leaky_gradients:
      probabilities = tf.stop_gradient(probabilities)
    estimates = self.surrogate(probabilities, labels)
    squared = tf.square(estimates - targets)
    if self.config.loss_reduction == "sum":
      squared *= 0.5  # tf.nn.l2_loss in the code
    return self._reduce(squared), estimates

  def ndcg_objective(self, probabilities, labels):
    """(eq. 11 loss, surrogate's estimates [B]) of the current surrogate."""
    estimates = self.surrogate(probabilities, labels)
    return self._reduce(-estimates), estimates

  @staticmethod
  def _apply(optimizer, tape, loss, variables) -> None:
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  # -- the sub-steps of Algorithm 1 ------------------------------------------
  def logloss_step(self, batch) -> tf.Tensor:
    """(a): one log-loss step of the backbone; returns the loss."""
    with tf.GradientTape() as tape:
      loss = self.logloss_objective(batch)
    self._apply(self.logloss_optimizer, tape, loss, self.backbone_variables)
    return loss

  def surrogate_step(self, batch) -> dict:
    """(b) + (c): true NDCG of the current scores, one surrogate step towards it."""
    with tf.GradientTape() as tape:
      probabilities, targets = self.probabilities_and_targets(batch)
      loss, estimates = self.surrogate_objective(probabilities, batch["labels"], targets)
    self._apply(self.surrogate_optimizer, tape, loss, self._surrogate_step_variables)
    return {"surrogate_loss": loss, "targets": targets, "estimates": estimates}

  def ndcg_step(self, batch) -> dict:
    """(d) alone: one backbone step maximising the surrogate's NDCG of the current scores."""
    with tf.GradientTape() as tape:
      probabilities = tf.sigmoid(self.logits(batch))
      loss, estimates = self.ndcg_objective(probabilities, batch["labels"])
    self._apply(self.ndcg_optimizer, tape, loss, self._ndcg_step_variables)
    return {"ndcg_loss": loss, "guided_estimates": estimates}

  def guided_steps(self, batch) -> dict:
    """(b), (c) and (d) on one forward pass of the backbone (= surrogate_step; ndcg_step)."""
    if self.config.leaky_gradients:  # (c) moved the backbone too: (d) needs new scores
      return {**self.surrogate_step(batch), **self.ndcg_step(batch)}
    labels = batch["labels"]
    with tf.GradientTape(persistent=True) as tape:
      probabilities, targets = self.probabilities_and_targets(batch)
      surrogate_loss, estimates = self.surrogate_objective(probabilities, labels, targets)
      with tape.stop_recording():
        self._apply(self.surrogate_optimizer, tape, surrogate_loss,
                    self._surrogate_step_variables)
      ndcg_loss, guided_estimates = self.ndcg_objective(probabilities, labels)
    self._apply(self.ndcg_optimizer, tape, ndcg_loss, self._ndcg_step_variables)
    del tape
    return {"surrogate_loss": surrogate_loss, "targets": targets, "estimates": estimates,
            "ndcg_loss": ndcg_loss, "guided_estimates": guided_estimates}

  def train_step(self, batch):
    loss = tf.constant(0.0)
    if self.config.stabilizer == "logloss":
      logloss = self.logloss_step(batch)
      base.track_partial(self.logloss_tracker, logloss)
      loss += logloss
    guided = self.guided_steps(batch)
    base.track_partial(self.loss_tracker, loss + guided["ndcg_loss"])
    base.track_partial(self.surrogate_loss_tracker, guided["surrogate_loss"])
    self.true_ndcg_tracker.update_state(guided["targets"])
    self.surrogate_ndcg_tracker.update_state(guided["guided_estimates"])
    self.surrogate_error_tracker.update_state(
        tf.abs(guided["estimates"] - guided["targets"]))
    return {m.name: m.result() for m in self.metrics}

  @property
  def metrics(self):
    trackers = [self.loss_tracker]
    if self.config.stabilizer == "logloss":
      trackers.append(self.logloss_tracker)
    return trackers + [self.surrogate_loss_tracker, self.true_ndcg_tracker,
                       self.surrogate_ndcg_tracker, self.surrogate_error_tracker]


def build_guidedrec(split, run_config) -> Trainable:
  """`Trainable` of `train_guidedrec` (a `GuidedRecConfig`)."""
  return build_listwise(split, run_config, GuidedRec, "logloss_optimizer")


SPEC = MethodSpec(
    name="guidedrec", label="GuidedRec", config=GuidedRecConfig, build=build_guidedrec,
    role="proposed", scores_by="id", binary="train_guidedrec", family="guidedrec",
    default_epochs=440,  # Table 5, ML-100K
    default_batch_size=250,  # pairs: 25 lists x 10 items
    variants=(Variant("guidedrec", "GuidedRec", {"backbone": "graphrec"}),
              Variant("guidedrec_neumf", "GuidedRec (NeuMF)", {"backbone": "neumf"})))
