"""TF1's Adagrad in Keras and its fused sparse step (the BPR / APR optimiser).

The APR authors' code trains with TF1's `AdagradOptimizer`: the accumulator
starts at `initial_accumulator` (0.1) and there is no epsilon. `tf1_adagrad`
is that optimiser as a Keras Adagrad; `sparse_adagrad` applies its update to
row gradients (`tf.IndexedSlices`) in one fused kernel per table instead of
Keras' `apply_gradients`, with the same accumulators and step count.
"""

import tensorflow as tf


def tf1_adagrad(learning_rate: float,
                initial_accumulator: float = 0.1) -> tf.keras.optimizers.Adagrad:
  """TF1-style Adagrad: accumulator starts at `initial_accumulator`, no epsilon."""
  return tf.keras.optimizers.Adagrad(
      learning_rate=learning_rate, initial_accumulator_value=initial_accumulator, epsilon=0.0)


def sparse_adagrad(optimizer: tf.keras.optimizers.Adagrad, gradients_and_variables) -> None:
  """`optimizer.apply_gradients` of row gradients (`tf.IndexedSlices`) in fewer ops.

  Keras' update: the rows of a repeated index are summed, then for each row
  accumulator += g^2 and variable -= lr * g / sqrt(accumulator + epsilon);
  here the summed rows go to one fused `ResourceSparseApplyAdagradV2` per table
  (lr * g / (sqrt(accumulator) + epsilon): the same for epsilon 0, which
  `tf1_adagrad` sets). The optimiser's accumulators and step count are updated, so
  checkpoints and the Keras path stay interchangeable.
  """
  for gradient, variable in gradients_and_variables:
    unique, position = tf.unique(gradient.indices)
    rows = tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(unique)[0])
    accumulator = optimizer._accumulators[  # pylint: disable=protected-access
        optimizer._index_dict[optimizer._var_key(variable)]]  # pylint: disable=protected-access
    tf.raw_ops.ResourceSparseApplyAdagradV2(
        var=variable.handle, accum=accumulator.handle,
        lr=tf.cast(optimizer.learning_rate, variable.dtype),
        epsilon=tf.constant(optimizer.epsilon, variable.dtype), grad=rows, indices=unique)
  optimizer.iterations.assign_add(1)
