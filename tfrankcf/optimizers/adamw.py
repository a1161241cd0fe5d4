"""TF1's Adam with the decoupled weight decay of contrib `AdamWOptimizer`.

The GuidedRec and GraphRec scripts train with TF1's contrib `AdamWOptimizer`,
whose decay `var -= weight_decay * var` is applied per step and is NOT scaled
by the learning rate (Keras' `AdamW` scales it), with TF1's Adam epsilon 1e-8.
With `weight_decay=0` it is TF1's plain Adam (the TF-Ranking script).
"""

import tensorflow as tf

TF1_ADAM_EPSILON = 1e-8


class AdamW(tf.keras.optimizers.Optimizer):
  """TF1's Adam with contrib `AdamWOptimizer`'s decoupled decay (the GuidedRec optimiser).

  Per step, for every variable given a gradient: `var -= weight_decay * var`
  (not multiplied by the learning rate, unlike Keras' AdamW), then TF1's fused
  Adam kernel (`ResourceApplyAdam`, epsilon 1e-8). Sparse gradients are
  applied densely, as the original's one-hot matmuls produced them. One fused
  kernel per variable keeps a step of these tiny models cheap: Keras' own
  `apply_gradients` spends about a millisecond per call on bookkeeping. It is
  a Keras optimiser (slots and step count are checkpointed with the model;
  `compile` accepts it). Under tf.distribute it sums the replicas' gradients
  and every replica applies the same update to its copy of the variables.
  """

  def __init__(self, learning_rate: float, weight_decay: float = 0.0, beta_1: float = 0.9,
               beta_2: float = 0.999, epsilon: float = TF1_ADAM_EPSILON,
               name: str = "AdamW", **kwargs):
    super().__init__(name=name, jit_compile=False, **kwargs)
    self._learning_rate = self._build_learning_rate(learning_rate)
    self.decoupled_weight_decay = float(weight_decay)
    self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self._built = True
    self._momentums = [self.add_variable_from_reference(v, "m") for v in var_list]
    self._velocities = [self.add_variable_from_reference(v, "v") for v in var_list]

  def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                      **kwargs):
    del name, kwargs
    grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
    self.build([v for _, v in grads_and_vars])
    context = tf.distribute.get_replica_context()
    if (not skip_gradients_aggregation and context is not None
        and context.num_replicas_in_sync > 1):
      gradients = context.all_reduce(
          tf.distribute.ReduceOp.SUM, [tf.convert_to_tensor(g) for g, _ in grads_and_vars])
      grads_and_vars = list(zip(gradients, [v for _, v in grads_and_vars]))
    step = tf.cast(self.iterations + 1, tf.float32)
    beta_1_power, beta_2_power = self.beta_1 ** step, self.beta_2 ** step
    learning_rate = tf.cast(self.learning_rate, tf.float32)
    for gradient, variable in grads_and_vars:
      j = self._index_dict[self._var_key(variable)]
      if self.decoupled_weight_decay:  # on this replica's copy, as the Adam kernel
        tf.raw_ops.AssignSubVariableOp(
            resource=variable.handle,
            value=self.decoupled_weight_decay * tf.convert_to_tensor(variable))
      tf.raw_ops.ResourceApplyAdam(
          var=variable.handle, m=self._momentums[j].handle, v=self._velocities[j].handle,
          beta1_power=beta_1_power, beta2_power=beta_2_power, lr=learning_rate,
          beta1=self.beta_1, beta2=self.beta_2, epsilon=self.epsilon,
          grad=tf.convert_to_tensor(gradient))
    return self.iterations.assign_add(1)

  def update_step(self, gradient, variable):
    raise NotImplementedError("AdamW applies its updates in apply_gradients")

  def get_config(self):
    config = super().get_config()
    config.update(learning_rate=self._serialize_hyperparameter(self._learning_rate),
                  weight_decay=self.decoupled_weight_decay, beta_1=self.beta_1,
                  beta_2=self.beta_2, epsilon=self.epsilon)
    return config
