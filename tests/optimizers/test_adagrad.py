"""The fused sparse Adagrad step against Keras' Adagrad on BPR's row gradients."""

import numpy as np
import tensorflow as tf

from tfrankcf.methods.bpr import BPR, BPRConfig, adagrad
from tfrankcf.optimizers.adagrad import sparse_adagrad


def _batch(users, positives, negatives):
  return {"user_index": tf.constant(users, tf.int64),
          "positive": tf.constant(positives, tf.int64),
          "negative": tf.constant(negatives, tf.int64)}


def test_sparse_adagrad_is_keras_adagrad_on_repeated_rows():
  """The fused kernel update equals `apply_gradients` (rows summed, then TF1 Adagrad)."""
  config = BPRConfig(embedding_dim=3, init_stddev=0.5)
  models = [BPR(4, 6, config, seed=0) for _ in range(2)]
  batch = _batch([0, 0, 3, 0], [1, 3, 1, 5], [3, 2, 4, 1])  # repeated users and items
  updated = []
  for model, fast in zip(models, (False, True)):
    optimizer = adagrad(config)
    optimizer.build(model.mf.trainable_variables)
    for _ in range(2):  # the second step reads the accumulators of the first
      with tf.GradientTape() as tape:
        loss, _ = model.bpr_objective(batch)
      variables = model.mf.trainable_variables
      gradients = tape.gradient(loss, variables)
      if fast:
        sparse_adagrad(optimizer, zip(gradients, variables))
      else:
        optimizer.apply_gradients(zip(gradients, variables))
    updated.append([v.numpy() for v in variables + optimizer.variables])
  for keras_value, fast_value in zip(*updated):
    np.testing.assert_allclose(fast_value, keras_value, rtol=1e-6, atol=1e-8)
  assert int(updated[1][2]) == 2  # the optimiser's step count
