"""The divergence guard: which epochs stop the run, and what its message names."""

import types

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.training.fit.divergence import DivergenceGuard, TrainingDiverged
from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState


def _run(weights):
  model = types.SimpleNamespace(trainable_variables=[tf.Variable(weights),
                                                     tf.Variable([1, 2], dtype=tf.int64)])
  return FitState(model, 5, [])


def _epoch(index, **every_log):
  return Epoch(index, None, every_log, every_log, 0.0)


def test_a_finite_epoch_passes():
  guard = DivergenceGuard(types.SimpleNamespace(directory="run/checkpoints", latest=None))
  guard.on_epoch_end(_run([1.0, 2.0]), _epoch(0, loss=0.5, kl=0.0))


def test_every_non_finite_tracker_is_named_the_idle_ones_too():
  guard = DivergenceGuard(types.SimpleNamespace(directory="run/checkpoints",
                                                latest="run/checkpoints/ckpt-2"))
  epoch = Epoch(2, "stage", {"loss": np.nan, "kl": 0.1, "critic": np.inf}, {"kl": 0.1}, 0.0)
  with pytest.raises(TrainingDiverged) as raised:
    guard.on_epoch_end(_run([1.0]), epoch)
  assert str(raised.value) == ("epoch 3: loss is nan, critic is inf; stopped, the last good "
                               "checkpoint (epoch 2) is in run/checkpoints")


def test_non_finite_weights_with_finite_trackers_stop_too():
  guard = DivergenceGuard(types.SimpleNamespace(directory="run/checkpoints", latest=None))
  with pytest.raises(TrainingDiverged) as raised:
    guard.on_epoch_end(_run([1.0, np.inf]), _epoch(0, loss=0.5))
  assert str(raised.value) == ("epoch 1: the weights are not finite; stopped, no checkpoint "
                               "was written")
