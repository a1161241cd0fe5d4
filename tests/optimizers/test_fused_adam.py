"""FusedAdam: Keras's Adam in one fused kernel per variable."""

import numpy as np
import tensorflow as tf

from tfrankcf.optimizers.fused_adam import FusedAdam


def test_fused_adam_is_keras_adam():
  """Same update on dense and sparse (IndexedSlices) gradients over a few steps, same slots."""
  rng = np.random.default_rng(5)
  start = rng.normal(size=(30, 4)).astype(np.float32)
  fused, keras = tf.Variable(start), tf.Variable(start)
  optimizers = [FusedAdam(0.01), tf.keras.optimizers.Adam(0.01)]
  for optimizer, variable in zip(optimizers, (fused, keras)):
    optimizer.build([variable])
  for step in range(4):
    dense = rng.normal(size=(30, 4)).astype(np.float32)
    rows = rng.integers(0, 30, 12)  # duplicates sum
    sparse = tf.IndexedSlices(tf.constant(rng.normal(size=(12, 4)).astype(np.float32)),
                              tf.constant(rows, tf.int64), tf.constant([30, 4], tf.int64))
    gradient = dense if step % 2 else sparse
    for optimizer, variable in zip(optimizers, (fused, keras)):
      optimizer.apply_gradients([(tf.convert_to_tensor(gradient) if optimizer is optimizers[1]
                                  else gradient, variable)])
  # one fused expression against Keras's several ops: float32 rounding (~3e-7 here)
  np.testing.assert_allclose(fused.numpy(), keras.numpy(), rtol=1e-5, atol=1e-6)
  assert [v.name for v in optimizers[0].variables] == [v.name for v in optimizers[1].variables]
  for a, b in zip(optimizers[0].variables, optimizers[1].variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
