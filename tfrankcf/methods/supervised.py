"""A pairwise backbone (GraphRec, NeuMF) trained on list-wise batches with one ranking loss.

This is the log-loss baseline and the TF-Ranking baselines of GuidedRec: the
same backbone and sampler, `loss` (a name of `tfrankcf.losses.ranking`)
changes and nothing else. The per-list losses are averaged over the global
batch of lists. The optimiser is Adam with TF1's epsilon 1e-8 (the TF-Ranking
script: plain Adam, lr 1e-3); `weight_decay` > 0 adds the decoupled decay of
TF1's contrib `AdamWOptimizer` (the GuidedRec log-loss script: 1e-5), i.e.
`var -= weight_decay * var` per step, not multiplied by the learning rate.

`build_supervised(split, config)` is the trainer's entry point.
"""

import dataclasses

import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.graphrec import GraphRec
from tfrankcf.backbones.neumf import NeuMF
from tfrankcf.errors import InputError
from tfrankcf.inputs.listwise import DEFAULT_LIST_SIZE, DEFAULT_LISTS_PER_BATCH, ListwiseSampler
from tfrankcf.losses import ranking
from tfrankcf.methods import base

BACKBONES = ("graphrec", "neumf")
TF1_ADAM_EPSILON = 1e-8


@dataclasses.dataclass
class BackboneConfig:
  """Backbone and list-wise batch settings (defaults: the GuidedRec ML-100K code).

  Attributes:
    backbone: "graphrec" or "neumf".
    embedding_dim: GraphRec's d (paper App. B: 20 ML-100K, 45 ML-1M, 10 MVT).
    graph_features: GraphRec with adjacency and degree features (paper) or
      one-hot ids only (the ML-100K script's `Graph=False`, the default).
    gmf_dim: NeuMF's GMF size (8 in the code).
    mlp_layers: NeuMF's MLP embedding size then layers (App. B: 16,16,8,8
      ML-100K and MVT; 64,64,32,16 ML-1M).
    init_stddev: N(0, init_stddev^2) initialisation of every kernel.
    lists_per_batch: B_L (25: 250 pairs for ML-100K/ML-1M; 100 for MVT).
    list_size: K items per list, half positives.
    batches_per_epoch: 0 = nnz // (B_L * K / 2), as the original.
  """

  backbone: str = "graphrec"
  embedding_dim: int = 20
  graph_features: bool = False
  gmf_dim: int = 8
  mlp_layers: tuple = (16, 16, 8, 8)
  init_stddev: float = 0.01
  lists_per_batch: int = DEFAULT_LISTS_PER_BATCH
  list_size: int = DEFAULT_LIST_SIZE
  batches_per_epoch: int = 0

  def __post_init__(self):
    if self.backbone not in BACKBONES:
      raise InputError(f"unknown backbone '{self.backbone}'; valid backbones: "
                       f"{', '.join(BACKBONES)}")
    self.mlp_layers = tuple(int(units) for units in self.mlp_layers)


@dataclasses.dataclass
class SupervisedConfig(BackboneConfig):
  """Attributes (besides the backbone's):

    loss: a name of `tfrankcf.losses.ranking.LOSSES`.
    learning_rate: Adam's learning rate.
    weight_decay: contrib-AdamW decay per step (0 = plain Adam).
  """

  loss: str = "logloss"
  learning_rate: float = 1e-3
  weight_decay: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    if self.loss not in ranking.LOSSES:
      raise InputError(f"unknown loss '{self.loss}'; valid losses: "
                       f"{', '.join(ranking.LOSSES)}")


def build_backbone(matrix: sp.csr_matrix, config: BackboneConfig,
                   seed: int | None = None) -> tf.keras.layers.Layer:
  """The configured backbone over the training matrix [N, M]."""
  if config.backbone == "graphrec":
    return GraphRec(matrix, config.embedding_dim, config.graph_features,
                    config.init_stddev, seed=seed, name="backbone")
  return NeuMF(matrix.shape[0], matrix.shape[1], config.gmf_dim, config.mlp_layers,
               config.init_stddev, seed=seed, name="backbone")


class AdamW(tf.keras.optimizers.Optimizer):
  """TF1's Adam with contrib `AdamWOptimizer`'s decoupled decay (the GuidedRec optimiser).

  Per step, for every variable given a gradient: `var -= weight_decay * var`
  (not multiplied by the learning rate, unlike Keras' AdamW), then TF1's fused
  Adam kernel (`ResourceApplyAdam`, epsilon 1e-8). Sparse gradients are
  applied densely, as the original's one-hot matmuls produced them. One fused
  kernel per variable keeps a step of these tiny models cheap: Keras' own
  `apply_gradients` spends about a millisecond per call on bookkeeping. It is
  a Keras optimiser (slots and step count are checkpointed with the model;
  `compile` accepts it). Under tf.distribute it sums the replicas' gradients
  and every replica applies the same update to its copy of the variables.
  """

  def __init__(self, learning_rate: float, weight_decay: float = 0.0, beta_1: float = 0.9,
               beta_2: float = 0.999, epsilon: float = TF1_ADAM_EPSILON,
               name: str = "AdamW", **kwargs):
    super().__init__(name=name, jit_compile=False, **kwargs)
    self._learning_rate = self._build_learning_rate(learning_rate)
    self.decoupled_weight_decay = float(weight_decay)
    self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self._built = True
    self._momentums = [self.add_variable_from_reference(v, "m") for v in var_list]
    self._velocities = [self.add_variable_from_reference(v, "v") for v in var_list]

  def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                      **kwargs):
    del name, kwargs
    grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
    self.build([v for _, v in grads_and_vars])
    context = tf.distribute.get_replica_context()
    if (not skip_gradients_aggregation and context is not None
        and context.num_replicas_in_sync > 1):
      gradients = context.all_reduce(
          tf.distribute.ReduceOp.SUM, [tf.convert_to_tensor(g) for g, _ in grads_and_vars])
      grads_and_vars = list(zip(gradients, [v for _, v in grads_and_vars]))
    step = tf.cast(self.iterations + 1, tf.float32)
    beta_1_power, beta_2_power = self.beta_1 ** step, self.beta_2 ** step
    learning_rate = tf.cast(self.learning_rate, tf.float32)
    for gradient, variable in grads_and_vars:
      j = self._index_dict[self._var_key(variable)]
      if self.decoupled_weight_decay:  # on this replica's copy, as the Adam kernel
        tf.raw_ops.AssignSubVariableOp(
            resource=variable.handle,
            value=self.decoupled_weight_decay * tf.convert_to_tensor(variable))
      tf.raw_ops.ResourceApplyAdam(
          var=variable.handle, m=self._momentums[j].handle, v=self._velocities[j].handle,
          beta1_power=beta_1_power, beta2_power=beta_2_power, lr=learning_rate,
          beta1=self.beta_1, beta2=self.beta_2, epsilon=self.epsilon,
          grad=tf.convert_to_tensor(gradient))
    return self.iterations.assign_add(1)

  def update_step(self, gradient, variable):
    raise NotImplementedError("AdamW applies its updates in apply_gradients")

  def get_config(self):
    config = super().get_config()
    config.update(learning_rate=self._serialize_hyperparameter(self._learning_rate),
                  weight_decay=self.decoupled_weight_decay, beta_1=self.beta_1,
                  beta_2=self.beta_2, epsilon=self.epsilon)
    return config


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
        tf.constant([self.seed, 1], tf.int64), self.ranking_optimizer.iterations))
    return self.ranking_loss(batch["labels"], self.logits(batch), seed=seed)


def config_from_params(config_class, params: dict, batch_size: int = 0):
  """`config_class` with the fields present in run `params`; `batch_size` = pairs per batch."""
  names = {field.name for field in dataclasses.fields(config_class)}
  config = config_class(**{key: value for key, value in params.items() if key in names})
  if batch_size:
    if batch_size % config.list_size:
      raise InputError(f"--batch_size={batch_size} pairs is not a multiple of the list "
                       f"size {config.list_size}")
    config.lists_per_batch = batch_size // config.list_size
  return config


def build_listwise(split, config, model_class, config_class, optimizer: str):
  """`Trainable` of a pairwise-backbone method trained on list-wise batches.

  Run params are `config_class` fields; `config.batch_size` (pairs, e.g. 250)
  sets B_L = batch_size / list_size. `optimizer` names the model attribute
  handed to `compile` (every optimiser attribute is checkpointed anyway).
  """
  from tfrankcf.training.run import Trainable  # pylint: disable=g-import-not-at-top
  model_config = config_from_params(config_class, config.params, config.batch_size)
  model = model_class(split.train, model_config, seed=config.seed)
  model.compile(optimizer=getattr(model, optimizer))
  sampler = sampler_for(split, model_config, config.seed)
  return Trainable(model=model, dataset_fn=sampler,
                   examples_per_epoch=sampler.examples_per_epoch)


def build_supervised(split, config):
  """`Trainable` for `train_baseline --backbone=... --loss=...`: run params = `SupervisedConfig`."""
  return build_listwise(split, config, Supervised, SupervisedConfig, "ranking_optimizer")
