"""Keras's Adam in TensorFlow's one-pass `ResourceApplyAdam` kernel (the autoencoders')."""

import tensorflow as tf


class FusedAdam(tf.keras.optimizers.Adam):
  """Keras's Adam with each variable's update in TensorFlow's fused `ResourceApplyAdam`.

  The same slots (so the same checkpoints) and the same arithmetic as Keras's
  dense update, m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2),
  w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), in one pass over the
  variable instead of a dozen: for the autoencoders' two [M, H] kernels the
  optimiser step is a large share of a batch. Adam's update touches every row
  (the moments decay everywhere), so a sparse gradient (`IndexedSlices`, the
  sparse first layer's) is summed into a dense one first, which is cheaper
  than Keras's own sparse update (decay, then scatter, per moment).
  """

  def update_step(self, gradient, variable):
    if self.amsgrad:
      return super().update_step(gradient, variable)
    dtype = variable.dtype
    local_step = tf.cast(self.iterations + 1, dtype)
    key = self._var_key(variable)
    if isinstance(gradient, tf.IndexedSlices):
      gradient = tf.math.unsorted_segment_sum(gradient.values, gradient.indices,
                                              tf.shape(variable, out_type=tf.int64)[0])
    return tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[self._index_dict[key]].handle,
        v=self._velocities[self._index_dict[key]].handle,
        beta1_power=tf.pow(tf.cast(self.beta_1, dtype), local_step),
        beta2_power=tf.pow(tf.cast(self.beta_2, dtype), local_step),
        lr=tf.cast(self.learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
        beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
        grad=gradient)
