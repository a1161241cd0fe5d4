"""The small base `Model` every trainable method subclasses.

A method is a `tf.keras.Model` that (1) scores items for a batch of users and
(2) trains with a schedule in `train_step`. Subclasses override only what
differs:

* `predict_scores(user_index, history)`: scores of every item, [B, M]. This is
  what the evaluator (through `score` or, compiled with the top-k, `score_tf`)
  and the SavedModel export call.
* `compute_example_losses(batch, training)`: per-example training losses [B]
  for the common single-optimiser case; the base `train_step` averages them
  over the *global* batch (correct under `tf.distribute`) and adds the
  regularisation losses in `self.losses`.
* or `train_step(batch)` itself, for multi-optimiser schedules (RaCT, GuidedRec,
  CF-SFL, APR). Report losses through `tf.keras.metrics.Mean` trackers.

Under `tf.distribute` every replica sees a piece of the global batch and the
optimisers sum the replicas' gradients: `average_loss` divides by the global
batch (summed over replicas: the pieces of a last batch are uneven),
`track_partial` and `track_batch_mean` make the trackers report what one
device reports. With one replica they are the plain single-device code.

(Keras 2.15 already has `Model.compute_loss(x, y, y_pred, sample_weight)`; the
hook here has another name so as not to shadow it.)
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses.reduction import average_loss, global_batch_size, num_replicas  # pylint: disable=unused-import


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
  """Whether `strategy` is a tf.distribute strategy, not the default one-device one."""
  return tf.distribute.has_strategy() or strategy is not tf.distribute.get_strategy()


def replica_seed(seed: tf.Tensor) -> tf.Tensor:
  """A stateless seed [2] of this replica: `seed` folded with the replica id (several replicas)."""
  if num_replicas() == 1:
    return seed
  replica = tf.distribute.get_replica_context().replica_id_in_sync_group
  return tf.random.experimental.stateless_fold_in(seed, tf.cast(replica, tf.int64))


def track_partial(tracker: tf.keras.metrics.Mean, partial: tf.Tensor) -> None:
  """Tracks a scalar whose replica shares sum to the batch's value (a loss)."""
  replicas = num_replicas()
  if replicas == 1:
    tracker.update_state(partial)
  else:  # every replica adds partial to the total and 1/R to the count
    tracker.update_state(partial * replicas, sample_weight=1.0 / replicas)


def track_batch_mean(tracker: tf.keras.metrics.Mean, values: tf.Tensor) -> None:
  """Tracks the global-batch mean of `values` [B] (one value per batch, as one device)."""
  if num_replicas() == 1:
    tracker.update_state(tf.reduce_mean(values))
  else:  # an empty piece adds nothing
    weight = 1.0 / tf.cast(global_batch_size(values), values.dtype)
    tracker.update_state(values, sample_weight=tf.fill(tf.shape(values), weight))


class Model(tf.keras.Model):
  """Base of every trainable method: a scorer plus a training schedule.

  `uses_history`: whether scoring reads the users' histories (autoencoders)
  or only their ids (MF, GraphRec, NeuMF); ID-based models get an empty
  history and cannot score users unseen in training.
  """

  uses_history = True

  def __init__(self, num_items: int, **kwargs):
    super().__init__(**kwargs)
    self.num_items = int(num_items)
    self.loss_tracker = tf.keras.metrics.Mean(name="loss")

  @property
  def jit_compile_blockers(self) -> list[str]:
    """What keeps XLA from compiling the training step: each layer's dynamic-shape part.

    A layer (or an autoencoder's reconstruction term) that XLA cannot compile
    says why in its `jit_compile_blocker` attribute.
    """
    return [layer.jit_compile_blocker for layer in self._flatten_layers(include_self=False)
            if getattr(layer, "jit_compile_blocker", None)]

  @property
  def supports_jit_compile(self) -> bool:
    """Whether XLA can compile the training step."""
    return not self.jit_compile_blockers

  # -- scoring ---------------------------------------------------------------
  def predict_scores(self, user_index: tf.Tensor, history: tf.Tensor) -> tf.Tensor:
    """Scores [B, M] for users `user_index` [B] with dense histories [B, M].

    ID-based models use `user_index` (-1 for users unseen in training is not
    valid for them); autoencoders use `history`.
    """
    raise NotImplementedError

  def predict_candidate_scores(self, user_index: tf.Tensor, history: tf.Tensor,
                               items: tf.Tensor) -> tf.Tensor:
    """Scores [B, C] of `items` [B, C]; pairwise backbones override this."""
    return tf.gather(self.predict_scores(user_index, history), items,
                     batch_dims=1)

  @tf.function(reduce_retracing=True)
  def _score_full(self, user_index, history):
    return self.predict_scores(user_index, history)

  @tf.function(reduce_retracing=True)
  def _score_candidates(self, user_index, history, items):
    return self.predict_candidate_scores(user_index, history, items)

  def check_users(self, user_index: np.ndarray) -> None:
    """Raises InputError if an ID-based model is asked to score users unseen in training."""
    if not self.uses_history and np.any(np.asarray(user_index) < 0):
      raise InputError(
          f"{type(self).__name__} scores users by their id and cannot rank users unseen "
          "in training (protocol 'strong'); use loo_sampled, loo_full or given")

  def score_tf(self, user_index: tf.Tensor, history: tf.SparseTensor) -> tf.Tensor:
    """Scores [B, M] in TensorFlow, for the evaluator's compiled full ranking.

    `history` is a float32 SparseTensor [B, M] (empty for ID-based models); the
    default densifies it on the device and calls `predict_scores`, like `score`.
    A model that can read the sparse history directly may override this.
    """
    if self.uses_history:
      dense = tf.sparse.to_dense(history)
    else:
      dense = tf.zeros([tf.shape(user_index)[0], 0])
    return self.predict_scores(user_index, dense)

  @property
  def supports_score_tf(self) -> bool:
    """Whether `score_tf` scores as `score` does (False if only `score` is overridden)."""
    cls = type(self)
    return cls.score is Model.score or cls.score_tf is not Model.score_tf

  def score(self, user_index: np.ndarray, history: sp.csr_matrix,
            items: np.ndarray | None = None) -> np.ndarray:
    """Numpy-facing scorer used by `tfrankcf.metrics.evaluate`."""
    user_index = np.asarray(user_index, np.int64)
    self.check_users(user_index)
    if self.uses_history:
      dense = tf.constant(history.toarray().astype(np.float32, copy=False))
    else:
      dense = tf.zeros([len(user_index), 0])
    user_index = tf.constant(user_index)
    if items is None:
      return self._score_full(user_index, dense).numpy()
    return self._score_candidates(user_index, dense,
                                  tf.constant(np.asarray(items, np.int64))).numpy()

  # -- training --------------------------------------------------------------
  def prepare_epoch(self, epoch: int, dataset: tf.data.Dataset) -> None:
    """Called by the trainer before epoch `epoch` trains on `dataset`.

    A no-op here; a schedule that must compute something over the data at a
    stage boundary (RaCT's critic input statistics) overrides it. It must be
    deterministic in (seed, epoch) so that a resumed run repeats it.
    """
    del epoch, dataset

  def compute_example_losses(self, batch, training: bool = True) -> tf.Tensor:
    """Per-example losses [B] of one batch (single-optimiser methods)."""
    raise NotImplementedError

  def train_step(self, batch):
    with tf.GradientTape() as tape:
      example_losses = self.compute_example_losses(batch, training=True)
      loss = average_loss(example_losses)
      if self.losses:
        loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
    variables = self.trainable_variables
    gradients = tape.gradient(loss, variables)
    self.optimizer.apply_gradients(zip(gradients, variables))
    track_partial(self.loss_tracker, loss)
    return {"loss": self.loss_tracker.result()}

  @property
  def metrics(self):
    return [self.loss_tracker]
