"""The command line's learning rates win over a restored checkpoint's."""

import logging

import pytest
import tensorflow as tf

from tfrankcf.training.fit.learning_rates import LearningRateOverride, learning_rates
from tfrankcf.training.fit.part import FitState


def test_every_optimiser_under_the_root_is_found():
  first, second = tf.keras.optimizers.Adam(0.1), tf.keras.optimizers.legacy.SGD(0.2)
  assert isinstance(second.learning_rate, tf.Variable)  # the legacy one makes it on first use
  rates = learning_rates(tf.train.Checkpoint(a=first, nested=tf.train.Checkpoint(b=second)))
  assert sorted(float(v) for v in rates.values()) == pytest.approx([0.1, 0.2], abs=1e-7)


def test_a_restore_gets_the_built_rates_back_and_says_so(tmp_path, caplog):
  optimizer = tf.keras.optimizers.Adam(0.01)
  checkpoint = tf.train.Checkpoint(optimizer=optimizer)
  override = LearningRateOverride(checkpoint)
  run = FitState(None, 1, [override])
  with caplog.at_level(logging.INFO):
    run.restored()  # the same rate: nothing to say
  assert "Learning rate" not in caplog.text
  optimizer.learning_rate.assign(0.5)  # as a checkpoint of a run with another rate would
  with caplog.at_level(logging.INFO):
    run.restored()
  assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.01, rel=1e-6, abs=1e-12)
  assert "Learning rate" in caplog.text and "(checkpoint 0.5)" in caplog.text
