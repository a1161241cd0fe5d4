"""BPR loss with the original's margin clip, and its sum / mean batch reductions."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.losses.pairwise import bpr_loss, reduce_pairwise_loss


def test_bpr_is_minus_log_sigmoid_of_the_margin():
  margins = np.array([-3.0, 0.0, 0.5, 20.0], np.float32)
  np.testing.assert_allclose(bpr_loss(tf.constant(margins)),
                             np.log1p(np.exp(-margins.astype(np.float64))), rtol=1e-5,
                             atol=1e-12)  # keeps log1p's 2e-9 at margin 20 (log(sigmoid) is 0)


def test_margin_below_minus_80_is_clipped():
  margins = tf.Variable([-100.0, -1.0])
  with tf.GradientTape() as tape:
    losses = bpr_loss(margins)
    total = tf.reduce_sum(losses)
  np.testing.assert_allclose(losses[0], 80.0, rtol=1e-6, atol=1e-6)
  gradient = tape.gradient(total, margins).numpy()
  assert gradient[0] == 0.0 and gradient[1] < 0.0


def test_reductions():
  losses = tf.constant([1.0, 2.0, 6.0])
  assert float(reduce_pairwise_loss(losses, "sum")) == pytest.approx(9.0, abs=1e-6)
  assert float(reduce_pairwise_loss(losses, "mean")) == pytest.approx(3.0, abs=1e-6)
  with pytest.raises(ValueError):
    reduce_pairwise_loss(losses, "max")


def test_sum_is_the_global_sum_under_a_strategy():
  strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
  losses = tf.constant([1.0, 2.0, 6.0, 3.0])
  per_replica = strategy.run(lambda: reduce_pairwise_loss(losses, "sum"))
  total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
  assert float(total) == pytest.approx(12.0, abs=1e-6)
