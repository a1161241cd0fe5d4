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
relative change of the ranking metrics: `robustness_study`.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins
from tfrankcf.errors import InputError
from tfrankcf.inputs.triplets import Triplets
from tfrankcf.losses.pairwise import MARGIN_CLIP, bpr_loss
from tfrankcf.methods import base
from tfrankcf.methods.bpr import BPR, BPRConfig, adagrad, config_from_params, triplets_for
from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet

APR_START = ("last", "best")


@dataclasses.dataclass
class APRConfig(BPRConfig):
  """APR settings on top of `BPRConfig` (defaults: the paper's and the code's).

  Attributes:
    eps: norm of each perturbed embedding row (epsilon).
    reg_adv: weight of the adversarial BPR term (lambda).
    pretrain_epochs: BPR epochs before adversarial training in the same run
      (0 = adversarial from the first epoch, e.g. after `restore_embeddings`).
    apr_start: the BPR model APR starts from: "last" (the code continues from
      the last BPR weights) or "best" (the best validation epoch of the BPR
      stage).
  """

  eps: float = 0.5
  reg_adv: float = 1.0
  pretrain_epochs: int = 0
  apr_start: str = "last"

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


# -- robustness study (Table 2, Figure 1) --------------------------------------
@tf.function(reduce_retracing=True)
def _table_scores(user_table, item_table, user_index):
  return tf.matmul(tf.gather(user_table, user_index), item_table, transpose_b=True)


@tf.function(reduce_retracing=True)
def _table_candidate_scores(user_table, item_table, user_index, items):
  return tf.einsum("bk,bck->bc", tf.gather(user_table, user_index),
                   tf.gather(item_table, items))


class PerturbedScorer:
  """A scorer (for `tfrankcf.metrics.evaluate`) of <p_u + d_u, q_i + d_i>."""

  def __init__(self, mf: MatrixFactorization, user_delta: tf.Tensor,
               item_delta: tf.Tensor):
    self.users = mf.user_embeddings + user_delta
    self.items = mf.item_embeddings + item_delta

  def margins(self, batch) -> tf.Tensor:
    return triplet_margins(tf.gather(self.users, batch["user_index"]),
                           tf.gather(self.items, batch["positive"]),
                           tf.gather(self.items, batch["negative"]))

  def score(self, user_index, history, items=None) -> np.ndarray:
    del history
    user_index = tf.constant(np.asarray(user_index, np.int64))
    if items is None:
      return _table_scores(self.users, self.items, user_index).numpy()
    return _table_candidate_scores(self.users, self.items, user_index,
                                   tf.constant(np.asarray(items, np.int64))).numpy()


def bpr_table_gradients(mf: MatrixFactorization,
                        batches: tf.data.Dataset) -> tuple[tf.Tensor, tf.Tensor]:
  """Gradients [N, K], [M, K] of the summed BPR loss of all `batches` w.r.t. P and Q."""
  user_gradient = tf.Variable(tf.zeros_like(mf.user_embeddings), trainable=False)
  item_gradient = tf.Variable(tf.zeros_like(mf.item_embeddings), trainable=False)

  @tf.function(reduce_retracing=True)
  def accumulate(batch):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(bpr_loss(triplet_margins(
          mf.users(batch["user_index"]), mf.items(batch["positive"]),
          mf.items(batch["negative"]))))
    grad_p, grad_q = tape.gradient(loss, [mf.user_embeddings, mf.item_embeddings])
    user_gradient.scatter_add(grad_p)
    item_gradient.scatter_add(grad_q)

  for batch in batches:
    accumulate(batch)
  return tf.convert_to_tensor(user_gradient), tf.convert_to_tensor(item_gradient)


def _accuracy(scorer: PerturbedScorer, batches: tf.data.Dataset) -> float:
  correct = total = 0
  for batch in batches:
    margins = scorer.margins(batch).numpy()
    correct += int(np.sum(margins > 0))
    total += margins.size
  return correct / max(total, 1)


def robustness_study(mf: MatrixFactorization, triplets: Triplets, eval_set: EvalSet,
                     eps_values=(0.5, 1.0, 2.0), ks=(50, 100),
                     metric_names=("ndcg", "hr"), max_batches: int | None = None,
                     seed: int = 0, eval_batch_size: int = 1000) -> dict:
  """Relative metric changes of a trained MF under adversarial vs random perturbations.

  D' = one epoch of `triplets` (one sampled negative per training pair; at most
  `max_batches` batches), as in the paper's Section 2.3. For every eps:

  * adversarial: Delta = eps * row_normalise(d BPR(D') / d (P, Q)), rows of
    users/items absent from D' stay unperturbed;
  * random: Delta = eps * row_normalise(Gaussian noise) on every row (seeded).

  Returns a JSON-able dict: the clean metrics and accuracy on D'; per eps and
  kind, the perturbed metrics, `relative_change[key] = perturbed / clean - 1`
  (Table 2 prints it as a percentage) and the accuracy on D' (Figure 1 b, d).
  """
  batches = triplets.dataset(epoch=0)
  if max_batches is not None:
    batches = batches.take(max_batches)
  batches = batches.cache()
  user_gradient, item_gradient = bpr_table_gradients(mf, batches)
  noise_seed = tf.constant([seed, 0], tf.int64)
  user_noise = tf.random.stateless_normal(tf.shape(user_gradient), seed=noise_seed)
  item_noise = tf.random.stateless_normal(
      tf.shape(item_gradient), seed=tf.random.experimental.stateless_fold_in(noise_seed, 1))
  directions = {
      "adversarial": (tf.math.l2_normalize(user_gradient, axis=1),
                      tf.math.l2_normalize(item_gradient, axis=1)),
      "random": (tf.math.l2_normalize(user_noise, axis=1),
                 tf.math.l2_normalize(item_noise, axis=1)),
  }

  def measure(user_delta, item_delta):
    scorer = PerturbedScorer(mf, user_delta, item_delta)
    result = evaluate(scorer, eval_set, ks=ks, metric_names=metric_names,
                      batch_size=eval_batch_size)
    return result.means, _accuracy(scorer, batches)

  clean, clean_accuracy = measure(tf.zeros_like(user_gradient), tf.zeros_like(item_gradient))
  study = {"clean": {"metrics": clean, "train_accuracy": clean_accuracy},
           "num_triplets": int(sum(int(tf.size(b["user_index"])) for b in batches)),
           "eps": [float(eps) for eps in eps_values]}
  for kind, (user_direction, item_direction) in directions.items():
    study[kind] = {}
    for eps in eps_values:
      metrics, accuracy = measure(eps * user_direction, eps * item_direction)
      study[kind][str(float(eps))] = {
          "metrics": metrics,
          "relative_change": {key: (metrics[key] / clean[key] - 1.0 if clean[key] else None)
                              for key in metrics},
          "train_accuracy": accuracy}
  return study


ROBUSTNESS_DEFAULT_EPS = (0.5, 1.0, 2.0)
ROBUSTNESS_BATCH_SIZE = 4096


def robustness_report(config):
  """The trainer's `report` hook: the robustness study of the trained model on the test users.

  Run params: `robustness_eps` (list of eps; empty = no study, default 0.5, 1, 2)
  and `robustness_max_batches` (cap on D' in batches of 4096; default all
  training pairs). Metrics: the protocol's reporting metrics.
  """
  from tfrankcf.protocols.reporting import REPORTING  # pylint: disable=g-import-not-at-top
  eps_values = config.params.get("robustness_eps", ROBUSTNESS_DEFAULT_EPS)
  reporting = REPORTING[config.protocol]

  def report(trained, split):
    if not eps_values:
      return {}
    triplets = Triplets(split.train, batch_size=ROBUSTNESS_BATCH_SIZE, seed=config.seed + 1,
                        drop_remainder=False)
    return {"robustness": robustness_study(
        trained.mf, triplets, split.test, eps_values, ks=reporting.ks,
        metric_names=reporting.names,
        max_batches=config.params.get("robustness_max_batches"), seed=config.seed,
        eval_batch_size=config.eval_batch_size)}

  return report


def build_apr(split, config):
  """`Trainable` for `train_apr`.

  Run params: the `APRConfig` fields, `init_checkpoint` (a BPR run's checkpoint
  to start from) and those of `robustness_report`. With `pretrain_epochs`, the
  run's "pretrained" milestone is the best BPR epoch, and results.json has
  the paired test of APR against it.
  """
  from tfrankcf.training.run import Trainable  # pylint: disable=g-import-not-at-top
  apr_config = config_from_params(APRConfig, config.params, config.batch_size)
  model = APR(split.train.shape[0], split.num_items, apr_config, seed=config.seed)
  if config.params.get("init_checkpoint"):
    model.restore_embeddings(config.params["init_checkpoint"])
  model.compile(optimizer=model.apr_optimizer)
  triplets = triplets_for(split, apr_config, config.seed, model, config.jit_compile)
  pretrain = apr_config.pretrain_epochs
  return Trainable(model=model, dataset_fn=triplets,
                   examples_per_epoch=triplets.examples_per_epoch,
                   report=robustness_report(config),
                   milestones={"pretrained": pretrain} if pretrain else None,
                   restore_best_at=(pretrain if pretrain and apr_config.apr_start == "best"
                                    else None))
