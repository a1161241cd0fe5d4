"""AdamW: TF1's Adam with contrib `AdamWOptimizer`'s decoupled decay."""

import numpy as np
import tensorflow as tf

from tfrankcf.optimizers.adamw import AdamW


def test_contrib_adamw_decay_is_not_scaled_by_the_learning_rate():
  variable = tf.Variable([2.0])
  optimizer = AdamW(learning_rate=0.5, weight_decay=0.1)
  optimizer.apply_gradients([(tf.constant([0.0]), variable)])
  np.testing.assert_allclose(variable.numpy(), [2.0 - 0.1 * 2.0], rtol=1e-6, atol=1e-7)
