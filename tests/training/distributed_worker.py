"""Run by test_distribution.py in a process of its own: 2 logical CPUs, one epoch per method.

The CPU must be split before TensorFlow starts, which a pytest process cannot
promise, hence the process. For every case it trains the same model (same
initial weights) on the same global batches once on one device and once on
a MirroredStrategy over the 2 logical CPUs, and prints one JSON line: per
case the replicas in sync, the largest difference of the logged losses and
of the model's variables (weights, counters, critic statistics; not the loss
trackers'), and the largest update of a trainable weight in the epoch. The
batches include an uneven split (5 lists: 2 + 3; 3 rows: 1 + 2) and a batch
of one user (one replica empty). Noise is off (keep_prob 1, latent mean) so
that the runs can be equal.
"""

import json
import os
import time

from tfrankcf.training import distribution

os.environ[distribution.LOGICAL_CPUS_ENV] = "2"
MIRRORED = distribution.strategy_for("mirrored")  # before anything runs in TF

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.inputs.listwise import ListwiseSampler
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective
from tfrankcf.methods.ract import RaCT, RaCTConfig
from tfrankcf.methods.supervised import Supervised, SupervisedConfig

NUM_USERS, NUM_ITEMS = 24, 40


def _matrix() -> sp.csr_matrix:
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((NUM_USERS, NUM_ITEMS)) < 0.3).astype(np.float32))


def _without_noise(model_class):
  """`model_class` whose training pass uses the latent mean (no sample)."""

  class WithoutNoise(model_class):

    def forward(self, history, mask=None, training=False):
      del training
      return super().forward(history, mask, training=False)

  return WithoutNoise


def _user_batches(matrix, sizes=(8, 3, 1)):
  """Global batches of `sizes` users: even, uneven (1 + 2) and one user (0 + 1)."""
  rows = UserRows(matrix, shuffle=False)
  dataset, start = None, 0
  for size in sizes:
    users = tf.range(start, start + size, dtype=tf.int64)
    start += size
    batch = tf.data.Dataset.from_tensors({"user_index": users, "history": rows.rows(users)})
    dataset = batch if dataset is None else dataset.concatenate(batch)
  return dataset


def _actor():
  return build_actor("vae", NUM_ITEMS, encoder_dims=(16,), latent_dim=8, decoder_dims=(16,))


def _objective():
  return actor_objective("vae", keep_prob=1.0, l2=0.01, anneal_steps=2)


def _vae():
  return _without_noise(AutoencoderModel)(_actor(), _objective(), seed=3, learning_rate=0.01)


def _ract():
  config = RaCTConfig(actor_epochs=1, critic_epochs=1, ac_epochs=1, hidden_dims=(8, 4),
                      critic_l2=0.1, critic_learning_rate=0.01, ac_learning_rate=0.01)
  return _without_noise(RaCT)(_actor(), _objective(), config, seed=3)


def _graphrec_softmax():
  config = SupervisedConfig(loss="softmax", embedding_dim=8, list_size=4, lists_per_batch=5,
                            learning_rate=0.01, weight_decay=1e-3)
  return Supervised(_matrix(), config, seed=1)


def _lists():
  return ListwiseSampler(_matrix(), lists_per_batch=5, list_size=4, seed=0,
                         batches_per_epoch=3)(0)


# name: (model factory, optimiser attribute for compile, epoch (stage), dataset factory)
CASES = {
    "mult_vae": (_vae, "actor_optimizer", 0, lambda: _user_batches(_matrix())),
    "ract_actor_critic": (_ract, "actor_optimizer", 2, lambda: _user_batches(_matrix())),
    "graphrec_softmax": (_graphrec_softmax, "ranking_optimizer", 0, _lists),
}


def _state(model) -> list:
  """Every variable's value but the metrics' (an unsynchronised tracker differs in form only)."""
  metric_variables = {v.ref() for metric in model.metrics for v in metric.variables}
  return [v.numpy() for v in model.weights if v.ref() not in metric_variables]


def train_one_epoch(case: str, strategy: tf.distribute.Strategy):
  """(last logs, initial trainable weights, final trainable weights, final state) of one
  epoch of `case` under `strategy`."""
  make_model, optimizer, epoch, make_dataset = CASES[case]
  tf.keras.utils.set_random_seed(0)
  with strategy.scope():
    model = make_model()
    model.compile(optimizer=getattr(model, optimizer))
  initial = [v.numpy() for v in model.trainable_weights]
  if hasattr(model, "epoch"):
    model.epoch.assign(epoch)
  model.prepare_epoch(epoch, make_dataset())
  inputs, steps = distribution.distribute_dataset(strategy, make_dataset())
  history = model.fit(inputs, steps_per_epoch=steps, epochs=1, verbose=0).history
  return ({k: float(v[-1]) for k, v in history.items()}, initial,
          [v.numpy() for v in model.trainable_weights], _state(model))


def _largest_difference(weights, others) -> float:
  return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
             for a, b in zip(weights, others))


def main():
  report = {}
  for case in CASES:
    start = time.perf_counter()
    single_logs, initial, trained, single_state = train_one_epoch(
        case, tf.distribute.get_strategy())
    logs, _, _, state = train_one_epoch(case, MIRRORED)
    report[case] = {
        "replicas": MIRRORED.num_replicas_in_sync,
        "logs": logs, "single_logs": single_logs,
        "log_difference": max(abs(logs[k] - single_logs[k]) for k in single_logs),
        "weight_difference": _largest_difference(state, single_state),
        "weight_update": _largest_difference(trained, initial),
        "seconds": time.perf_counter() - start,
    }
  print(json.dumps(report))


if __name__ == "__main__":
  main()
