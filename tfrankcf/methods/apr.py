"""APR / AMF: adversarial personalized ranking of matrix factorisation (He et al. 2018).

Every batch (eq. 15-16 of the paper, as the authors' code does it):

1. Gamma = gradient of the CLEAN batch BPR loss (the sum over the batch) with
   respect to the embedding tables at the current parameters. Only the batch's
   rows are non-zero; a row that occurs several times (a user with several
   triplets, an item that is the positive of one triplet and the negative of
   another, footnote 3) gets the sum over its occurrences, as the dense table
   gradient of the original does. Here: gradients with respect to the gathered
   rows, summed per unique id with `unsorted_segment_sum`.
2. Delta_adv = eps * Gamma / ||Gamma|| per ROW (footnote 1), with the
   original's `l2_normalize` (squared norm floored at 1e-12, so a row whose
   gradient norm is below 1e-6 gets a proportionally smaller perturbation),
   then held constant (`stop_gradient`).
3. One Adagrad step on reduce(BPR(Theta) + reg_adv * BPR(Theta + Delta_adv))
   (+ the L2 term), eq. 4/9; the reduction is the BPR model's ("sum" by
   default, as the original).

Schedule: APR starts from trained BPR weights with a FRESH Adagrad state
(`apr_optimizer`, separate from `bpr_optimizer`). Either the same run trains
BPR for `pretrain_epochs` epochs first (the trainer assigns `self.epoch`), or
the embeddings are restored from a BPR checkpoint (`restore_embeddings`) or
copied from a BPR model (`copy_embeddings`).

Under `tf.distribute`, Delta is computed from each replica's share of the
batch (an item in two replicas' shares gets two perturbations); on one device
it is exactly the original's. The two-stage (pretrain_epochs > 0) step branches
with `tf.cond` on the epoch and is meant for a single replica.

The robustness study (paper Table 2, Figure 1) perturbs a trained model by
adversarial or random perturbations of norm eps per row and reports the
relative change of the ranking metrics: `tfrankcf.methods.mf_robustness`.
"""

import dataclasses
from typing import Literal

import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins
from tfrankcf.errors import InputError
from tfrankcf.losses.pairwise import MARGIN_CLIP, bpr_loss
from tfrankcf.methods import base
from tfrankcf.methods.bpr import BPR, BPRConfig, adagrad, triplets_for, with_batch_size
from tfrankcf.methods.mf_robustness import robustness_report
from tfrankcf.methods.spec import MethodSpec
from tfrankcf.methods.trainable import Trainable

APR_START = ("last", "best")


@dataclasses.dataclass
class APRConfig(BPRConfig):
  """APR settings on top of `BPRConfig` (defaults: the paper's and the code's).

  Attributes:
    eps: Norm of each adversarial perturbation row (epsilon).
    reg_adv: Weight of the adversarial BPR term (lambda).
    pretrain_epochs: MF-BPR epochs before APR in this run (0 = adversarial from the
      first epoch, e.g. after `restore_embeddings`).
    adv_epochs: APR epochs.
    apr_start: APR starts from the last BPR epoch (authors' code) or from the best
      validation epoch of the BPR stage.
    init_checkpoint: Start APR from the embeddings of this BPR checkpoint (requires
      --pretrain_epochs=0).
  """

  eps: float = dataclasses.field(default=0.5, metadata={"lower_bound": 0})
  reg_adv: float = dataclasses.field(default=1.0, metadata={"lower_bound": 0})
  pretrain_epochs: int = dataclasses.field(default=1000, metadata={"lower_bound": 0})
  adv_epochs: int = dataclasses.field(default=1000, metadata={"lower_bound": 0})
  apr_start: Literal[APR_START] = "last"
  init_checkpoint: str | None = None

  def __post_init__(self):
    super().__post_init__()
    if self.apr_start not in APR_START:
      raise InputError(f"unknown apr_start '{self.apr_start}' "
                       f"(choose from {', '.join(APR_START)})")


def fast_gradient_perturbation(ids: tf.Tensor, gradients: tf.Tensor,
                               eps: float) -> tf.Tensor:
  """Per-occurrence rows [n, K] of eps * row_normalise(Gamma).

  Args:
    ids: table rows [n] the `gradients` [n, K] belong to (repeats allowed).
    gradients: d loss / d gathered row, one per occurrence.
    eps: norm of every perturbed row.

  Gamma's row r is the sum of `gradients` over the occurrences of r, i.e. the
  table gradient; every occurrence of r gets the same perturbation.
  """
  unique_ids, position = tf.unique(ids)
  table_rows = tf.math.unsorted_segment_sum(gradients, position, tf.size(unique_ids))
  return eps * tf.gather(tf.math.l2_normalize(table_rows, axis=1), position)


def adversarial_perturbations(user_index, positive, negative, user_vectors,
                              positive_vectors, negative_vectors, eps: float):
  """Delta_adv for the gathered rows of one batch: (d_u, d_i, d_j), each [B, K].

  The gradient of the clean summed BPR loss with respect to the rows is written
  out (fewer ops than a tape): with x = <p_u, q_i - q_j> and
  g = d softplus(-clip(x)) / dx = -sigmoid(-x) inside the clip (0 outside),
  d/dp_u = g (q_i - q_j), d/dq_i = g p_u, d/dq_j = -g p_u.
  """
  margins = triplet_margins(user_vectors, positive_vectors, negative_vectors)
  low, high = MARGIN_CLIP
  slope = tf.where((margins >= low) & (margins <= high), -tf.sigmoid(-margins),
                   tf.zeros_like(margins))[:, None]
  grad_u = slope * (positive_vectors - negative_vectors)
  grad_i = slope * user_vectors
  grad_j = -grad_i
  # One pass over the rows of both tables: item ids follow the user ids (no row is shared).
  num_users = tf.reduce_max(user_index) + 1
  rows = fast_gradient_perturbation(
      tf.concat([user_index, positive + num_users, negative + num_users], 0),
      tf.concat([grad_u, grad_i, grad_j], 0), eps)
  return tuple(tf.stop_gradient(d) for d in tf.split(rows, 3))


class APR(BPR):
  """MF trained by APR (AMF), optionally after `pretrain_epochs` of BPR."""

  def __init__(self, num_users: int, num_items: int, config: APRConfig = APRConfig(),
               seed: int = 0, **kwargs):
    super().__init__(num_users, num_items, config, seed=seed, **kwargs)
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    self.apr_optimizer = adagrad(config)
    self.apr_optimizer.build(self.mf.trainable_variables)
    self.adversarial_tracker = tf.keras.metrics.Mean(name="adv_loss")

  def copy_embeddings(self, mf: MatrixFactorization) -> None:
    """Starts from another model's P and Q (e.g. a trained `BPR(...).mf`)."""
    self.mf.user_embeddings.assign(mf.user_embeddings)
    self.mf.item_embeddings.assign(mf.item_embeddings)

  def restore_embeddings(self, path: str) -> None:
    """Restores P and Q from a BPR/APR training checkpoint (`model.mf`), nothing else."""
    tf.train.Checkpoint(model=tf.train.Checkpoint(mf=self.mf)).read(path).expect_partial()

  def apr_objective(self, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(loss, clean margins [B], mean adversarial BPR) of a batch, eq. 4/9.

    Delta_adv is computed from the current rows and enters as a constant.
    """
    vectors = self.lookup(batch)
    deltas = adversarial_perturbations(
        batch["user_index"], batch["positive"], batch["negative"],
        *(tf.stop_gradient(v) for v in vectors), eps=self.config.eps)
    margins = triplet_margins(*vectors)
    adversarial = bpr_loss(triplet_margins(*(v + d for v, d in zip(vectors, deltas))))
    loss = self.objective(bpr_loss(margins) + self.config.reg_adv * adversarial,
                          self.l2_penalty(*vectors))
    return loss, margins, tf.reduce_mean(adversarial)

  def apr_step(self, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Adagrad step on the APR objective; returns (loss, clean margins, adv loss)."""
    with tf.GradientTape() as tape:
      loss, margins, adversarial = self.apr_objective(batch)
    self.apply(self.apr_optimizer, tape, loss)
    return loss, margins, adversarial

  def training_stage(self, epoch: int) -> tuple[str, tuple]:
    """The name of epoch `epoch`'s stage and the trackers it updates (the trainer's epoch line)."""
    bpr = (self.loss_tracker.name, self.accuracy_tracker.name)
    if epoch < self.config.pretrain_epochs:
      return "BPR pre-training", bpr  # the adversarial loss is not computed
    return "adversarial training", bpr + (self.adversarial_tracker.name,)

  def prepare_epoch(self, epoch, dataset):
    """Under tf.distribute, retraces the training step when pre-training ends."""
    super().prepare_epoch(epoch, dataset)
    if base.is_distributed(self.distribute_strategy):
      pretraining = epoch < self.config.pretrain_epochs
      if pretraining != getattr(self, "_traced_pretraining", None):
        self._traced_pretraining = pretraining
        self.train_function = None  # Keras traces a new one

  def one_step(self, batch):
    if self.config.pretrain_epochs > 0:
      def pretrain():
        loss, margins = self.bpr_step(batch)
        return loss, margins, tf.constant(0.0)
      if base.is_distributed(self.distribute_strategy):
        # MirroredStrategy cannot all-reduce gradients inside tf.cond: the phase of
        # `prepare_epoch` is fixed when the step is traced.
        return pretrain() if self._traced_pretraining else self.apr_step(batch)
      return tf.cond(self.epoch < self.config.pretrain_epochs, pretrain,
                     lambda: self.apr_step(batch))
    return self.apr_step(batch)

  def track_adversarial(self, adversarial, steps):
    self.adversarial_tracker.update_state(adversarial, sample_weight=steps)

  @property
  def metrics(self):
    return [self.loss_tracker, self.accuracy_tracker, self.adversarial_tracker]


def check_apr(config: APRConfig) -> None:
  """--init_checkpoint starts APR from a trained BPR model: no BPR stage with it."""
  if config.init_checkpoint and config.pretrain_epochs:
    raise InputError("--init_checkpoint starts APR from a trained BPR model; "
                     "set --pretrain_epochs=0 with it")


def build_apr(split, run_config) -> Trainable:
  """`Trainable` of `train_apr` (an `APRConfig`).

  `init_checkpoint` is a BPR run's checkpoint to start from; the robustness study
  runs on the trained model. With `pretrain_epochs`, the run's "pretrained"
  milestone is the best BPR epoch, and results.json has the paired test of APR
  against it.
  """
  apr_config = with_batch_size(run_config.method_config, run_config.batch_size)
  model = APR(split.train.shape[0], split.num_items, apr_config, seed=run_config.seed)
  if apr_config.init_checkpoint:
    model.restore_embeddings(apr_config.init_checkpoint)
  model.compile(optimizer=model.apr_optimizer)
  triplets = triplets_for(split, apr_config, run_config.seed, model, run_config.jit_compile)
  pretrain = apr_config.pretrain_epochs
  return Trainable(model=model, dataset_fn=triplets,
                   examples_per_epoch=triplets.examples_per_epoch,
                   report=robustness_report(run_config),
                   milestones={"pretrained": pretrain} if pretrain else None,
                   restore_best_at=(pretrain if pretrain and apr_config.apr_start == "best"
                                    else None))


SPEC = MethodSpec(
    name="apr", label="APR", config=APRConfig, build=build_apr, role="proposed",
    scores_by="id", binary="train_apr", family="apr",
    stages=("pretrain_epochs", "adv_epochs"), default_protocol="loo_full", check=check_apr)
