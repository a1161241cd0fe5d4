"""A pairwise backbone (GraphRec, NeuMF) trained on list-wise batches with one ranking loss.

This is the log-loss baseline and the TF-Ranking baselines of GuidedRec: the
same backbone and sampler, `loss` (a name of `tfrankcf.losses.ranking`)
changes and nothing else. The per-list losses are averaged over the global
batch of lists. The optimiser is Adam with TF1's epsilon 1e-8 (the TF-Ranking
script: plain Adam, lr 1e-3); `weight_decay` > 0 adds the decoupled decay of
TF1's contrib `AdamWOptimizer` (the GuidedRec log-loss script: 1e-5), i.e.
`var -= weight_decay * var` per step, not multiplied by the learning rate.

`SPEC` (`train_baseline --backbone=graphrec|neumf --loss=...`) names one
variant per backbone and loss.
"""

import dataclasses
from typing import Literal

import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.graphrec import GraphRec
from tfrankcf.backbones.neumf import NeuMF
from tfrankcf.errors import InputError
from tfrankcf.inputs.listwise import DEFAULT_LIST_SIZE, DEFAULT_LISTS_PER_BATCH, ListwiseSampler
from tfrankcf.losses import ranking
from tfrankcf.methods import base, noise_streams
from tfrankcf.methods.spec import LOSS_CHOICES, LOSS_LABELS, MethodSpec, Variant
from tfrankcf.methods.trainable import Trainable
from tfrankcf.optimizers.adamw import AdamW

BACKBONES = ("graphrec", "neumf")


@dataclasses.dataclass
class BackboneConfig:
  """Backbone and list-wise batch settings (defaults: the GuidedRec ML-100K code).

  Attributes:
    backbone: Pairwise backbone scoring (user, item) pairs.
    embedding_dim: Embedding size of the backbone (GraphRec's d, paper App. B: 20
      ml100k, 45 ml1m, 10 movietweetings).
    graph_features: GraphRec with the normalised adjacency rows and degree as features
      (paper) instead of one-hot ids only (the authors' ml100k script).
    gmf_dim: NeuMF GMF factors.
    mlp_layers: NeuMF MLP embedding size then layers (App. B: 16,16,8,8 ml100k/MVT;
      64,64,32,16 ml1m).
    init_stddev: N(0, init_stddev^2) initialisation of every kernel.
    lists_per_batch: B_L (25: 250 pairs for ML-100K/ML-1M; 100 for MVT); set by
      --batch_size (pairs) / list_size.
    list_size: Items per sampled list, half positives.
    batches_per_epoch: List-wise batches per epoch (0: interactions / positives per
      batch, as the original).
  """

  backbone: Literal[BACKBONES] = "graphrec"
  embedding_dim: int = dataclasses.field(default=20, metadata={"lower_bound": 1})
  graph_features: bool = False
  gmf_dim: int = dataclasses.field(default=8, metadata={"lower_bound": 1})
  mlp_layers: tuple[int, ...] = dataclasses.field(
      default=(16, 16, 8, 8), metadata={"flag": "neumf_layers", "lower_bound": 1})
  init_stddev: float = dataclasses.field(default=0.01, metadata={"flag": False})
  lists_per_batch: int = dataclasses.field(default=DEFAULT_LISTS_PER_BATCH,
                                           metadata={"flag": False})
  list_size: int = dataclasses.field(default=DEFAULT_LIST_SIZE, metadata={"lower_bound": 2})
  batches_per_epoch: int = dataclasses.field(default=0, metadata={"lower_bound": 0})

  def __post_init__(self):
    if self.backbone not in BACKBONES:
      raise InputError(f"unknown backbone '{self.backbone}'; valid backbones: "
                       f"{', '.join(BACKBONES)}")
    self.mlp_layers = tuple(int(units) for units in self.mlp_layers)


@dataclasses.dataclass
class SupervisedConfig(BackboneConfig):
  """A backbone trained with one ranking loss on its sampled lists.

  Attributes:
    loss: Loss on the sampled lists (log loss or a TF-Ranking loss).
    learning_rate: Adam learning rate.
    weight_decay: Decoupled weight decay per step (0: plain Adam, as the GuidedRec
      code's TF-Ranking baselines).
  """

  # The --loss choices of train_baseline are shared with the autoencoders' terms: a term that
  # is not a list-wise loss is refused with a message naming the backbone's.
  loss: Literal[LOSS_CHOICES] = "logloss"
  learning_rate: float = dataclasses.field(default=1e-3, metadata={"lower_bound": 0})
  weight_decay: float = dataclasses.field(default=0.0, metadata={"lower_bound": 0})

  def __post_init__(self):
    super().__post_init__()
    if self.loss not in ranking.LOSSES:
      raise InputError(f"a --backbone trains on sampled lists: unknown loss '{self.loss}'; "
                       f"valid losses: {', '.join(ranking.LOSSES)}")


def build_backbone(matrix: sp.csr_matrix, config: BackboneConfig,
                   seed: int | None = None) -> tf.keras.layers.Layer:
  """The configured backbone over the training matrix [N, M]."""
  if config.backbone == "graphrec":
    return GraphRec(matrix, config.embedding_dim, config.graph_features,
                    config.init_stddev, seed=seed, name="backbone")
  return NeuMF(matrix.shape[0], matrix.shape[1], config.gmf_dim, config.mlp_layers,
               config.init_stddev, seed=seed, name="backbone")


def sampler_for(split, config: BackboneConfig, seed: int) -> ListwiseSampler:
  return ListwiseSampler(split.train, lists_per_batch=config.lists_per_batch,
                         list_size=config.list_size, seed=seed,
                         batches_per_epoch=config.batches_per_epoch or None)


class PairwiseModel(base.Model):
  """Base of the methods on a pairwise backbone: scoring by the backbone."""

  def __init__(self, matrix: sp.csr_matrix, config: BackboneConfig, seed: int = 0, **kwargs):
    super().__init__(matrix.shape[1], **kwargs)
    self.config = config
    self.seed = int(seed)
    self.backbone = build_backbone(matrix, config, seed)
    sample = tf.zeros([1, 1], tf.int64)
    self.backbone(sample[:, 0], sample)  # creates the variables

  uses_history = False

  def predict_scores(self, user_index, history):
    del history  # ID-based
    return self.backbone.all_item_scores(user_index)

  def predict_candidate_scores(self, user_index, history, items):
    del history
    return self.backbone.candidate_scores(user_index, items)

  def logits(self, batch) -> tf.Tensor:
    """Logits [B_L, K] of a list-wise batch."""
    return self.backbone(batch["user_index"], batch["items"])


class Supervised(PairwiseModel):
  """Backbone + one ranking loss, one Adam(W) optimiser (`ranking_optimizer`)."""

  def __init__(self, matrix: sp.csr_matrix, config: SupervisedConfig = SupervisedConfig(),
               seed: int = 0, **kwargs):
    super().__init__(matrix, config, seed, **kwargs)
    self.ranking_loss = ranking.get(config.loss)
    self.ranking_optimizer = AdamW(config.learning_rate, config.weight_decay)
    self.ranking_optimizer.build(self.backbone.trainable_variables)

  def compute_example_losses(self, batch, training: bool = True):
    del training
    seed = base.replica_seed(tf.random.experimental.stateless_fold_in(
        tf.constant([self.seed, noise_streams.RANKING_LOSS_STREAM], tf.int64),
        self.ranking_optimizer.iterations))
    return self.ranking_loss(batch["labels"], self.logits(batch), seed=seed)


def with_batch_size(config: BackboneConfig, batch_size: int = 0) -> BackboneConfig:
  """`config` with B_L = `batch_size` (pairs) / list_size when a batch size is given."""
  if not batch_size:
    return config
  if batch_size % config.list_size:
    raise InputError(f"--batch_size={batch_size} pairs is not a multiple of the list "
                     f"size {config.list_size}")
  return dataclasses.replace(config, lists_per_batch=batch_size // config.list_size)


def build_listwise(split, run_config, model_class, optimizer: str) -> Trainable:
  """`Trainable` of a pairwise-backbone method trained on list-wise batches.

  The run's `method_config` is the method's `BackboneConfig`; `batch_size` (pairs,
  e.g. 250) sets B_L = batch_size / list_size. `optimizer` names the model
  attribute handed to `compile` (every optimiser attribute is checkpointed anyway).
  """
  model_config = with_batch_size(run_config.method_config, run_config.batch_size)
  model = model_class(split.train, model_config, seed=run_config.seed)
  model.compile(optimizer=getattr(model, optimizer))
  sampler = sampler_for(split, model_config, run_config.seed)
  return Trainable(model=model, dataset_fn=sampler,
                   examples_per_epoch=sampler.examples_per_epoch)


def build_supervised(split, run_config) -> Trainable:
  """`Trainable` of `train_baseline --backbone=... --loss=...` (a `SupervisedConfig`)."""
  return build_listwise(split, run_config, Supervised, "ranking_optimizer")


# GuidedRec paper App. B: each loss's best epoch on ML-100K (graphrec-losses_ml100k.cfg).
ML100K_LOSS_EPOCHS = {"logloss": 320, "gumbel_approx_ndcg": 464, "approx_ndcg": 320,
                      "listmle": 44, "softmax": 266, "pairwise_logistic": 65,
                      "neural_sort": 151}
LOGLOSS_WEIGHT_DECAY = ("--weight_decay=0.00001",)  # GraphRec.py's AdamW


def _variants() -> tuple:
  found = []
  for loss, label in LOSS_LABELS.items():
    own = LOGLOSS_WEIGHT_DECAY if loss == "logloss" else ()
    found.append(Variant(loss, label, {"backbone": "graphrec", "loss": loss},
                         aliases=(f"graphrec_{loss}",), compare_flags=own,
                         dataset_flags={"ml100k": (f"--epochs={ML100K_LOSS_EPOCHS[loss]}",)},
                         family="graphrec-losses"))
    found.append(Variant(f"neumf_{loss}", f"NeuMF, {label}", {"backbone": "neumf", "loss": loss},
                         compare_flags=own))
  return tuple(found)


SPEC = MethodSpec(
    name="listwise", label="pairwise backbones", config=SupervisedConfig,
    build=build_supervised, scores_by="id", binary="train_baseline",
    selected_by={"listwise": {}}, compare_defaults=("--epochs=200",), variants=_variants(),
    help_title="pairwise backbones (--backbone=graphrec|neumf)")
