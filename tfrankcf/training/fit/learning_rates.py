"""The learning rates of the command line win over the ones a restored checkpoint holds.

An identical command gives identical rates, so nothing changes; a run that
diverged can resume from its last good checkpoint with a lower rate (its
optimiser slots, counters and weights still come from the checkpoint).
"""

import logging

import tensorflow as tf

from tfrankcf.training.fit.part import FitState, Part

_OPTIMIZERS = (tf.keras.optimizers.Optimizer, tf.keras.optimizers.legacy.Optimizer)


def learning_rates(root) -> dict:
  """{variable ref: value} of every optimiser's learning rate variable under `root`."""
  rates = {}
  for trackable in tf.train.TrackableView(root).descendants():
    rate = getattr(trackable, "learning_rate", None)
    if isinstance(trackable, _OPTIMIZERS) and isinstance(rate, tf.Variable):
      rates[rate.ref()] = rate.numpy()
  return rates


class LearningRateOverride(Part):
  """Notes the learning rates under `root` when built; re-assigns them after every restore.

  Build it before anything is restored (`root`: the run's checkpoint, so that
  every optimiser it restores is covered).
  """

  def __init__(self, root):
    self.rates = learning_rates(root)

  def on_restore(self, run: FitState) -> None:
    for rate, value in self.rates.items():
      if rate.deref().numpy() != value:
        logging.info("Learning rate %s: %g (checkpoint %g)", rate.deref().name, value,
                     rate.deref().numpy())
        rate.deref().assign(value)
