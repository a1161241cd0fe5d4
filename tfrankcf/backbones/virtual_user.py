"""CF-SFL's virtual user: fusion h(x, a), reward estimator R, feedback generator F.

The virtual user closes CF-SFL's loop (paper eq. 3-4, Table 2, App. A.1):

  h = h(x, a)                      fusion of the history x and the recommendation a
  R = sigmoid(g(h))                g: 64 -> 128 -> 128 -> 128 -> 1, ReLU
  v = F([h, R])                    F: 65 -> 128 -> 128 -> 128 (linear output)

`Fusion` is eq. 16: one lookup table B [M, d] (d = 64) shared by both terms,
the mean of B's rows over the observed items plus the recommendation-weighted
sum of B's rows,

  h(x, a) = (1 / |x|) * sum_j x_j B_j + sum_j a_j B_j,

computed as two [B, M] x [M, d] products (sparse-dense for a `tf.SparseTensor`
history or ground-truth distribution), never an M x M one. `a` is a distribution over items (the
recommender's softmax, or a ground-truth row normalised to sum 1).

Trainable variables split as in the paper's min-max game: the reward
estimator's phi = (B, g) and the feedback generator's psi = F.
"""

import tensorflow as tf

EMBEDDING_DIM = 64  # d of App. A.1
HIDDEN_DIMS = (128, 128, 128)  # Table 2, both networks


class Fusion(tf.keras.layers.Layer):
  """h(x, a) [B, d] from a history x [B, M] and a distribution a [B, M] (dense or sparse)."""

  def __init__(self, num_items: int, embedding_dim: int = EMBEDDING_DIM, **kwargs):
    super().__init__(**kwargs)
    self.num_items = int(num_items)
    self.embedding_dim = int(embedding_dim)
    self.table = self.add_weight(
        "table", shape=(self.num_items, self.embedding_dim),
        initializer=tf.keras.initializers.GlorotUniform())

  def observed_mean(self, history) -> tf.Tensor:
    """(1 / |x|) sum_j x_j B_j, zero for an empty history."""
    if isinstance(history, tf.SparseTensor):
      count = tf.math.unsorted_segment_sum(history.values, history.indices[:, 0],
                                           history.dense_shape[0])[:, None]
      total = tf.sparse.sparse_dense_matmul(history, self.table)
    else:
      count = tf.reduce_sum(history, axis=1, keepdims=True)
      total = tf.matmul(history, self.table)
    return total / tf.maximum(count, 1.0)

  def call(self, history, recommendation):
    if isinstance(recommendation, tf.SparseTensor):  # a ground-truth row a ~ D
      weighted = tf.sparse.sparse_dense_matmul(recommendation, self.table)
    else:
      weighted = tf.matmul(recommendation, self.table)
    return self.observed_mean(history) + weighted


def _mlp(dims, output_units, output_activation=None, name=None):
  layers = [tf.keras.layers.Dense(units, activation="relu") for units in dims]
  if output_units:
    layers.append(tf.keras.layers.Dense(output_units, activation=output_activation))
  return tf.keras.Sequential(layers, name=name)


class VirtualUser(tf.keras.Model):
  """Reward estimator and feedback generator over a shared fusion.

  `reward_logits(x, a)` is g(h(x, a)) [B] (R = sigmoid of it; the logits keep
  log R numerically stable); `feedback(x, a)` is v = F([h, R]) [B, feedback_dim].
  """

  def __init__(self, num_items: int, embedding_dim: int = EMBEDDING_DIM,
               reward_dims: tuple = HIDDEN_DIMS, feedback_dims: tuple = HIDDEN_DIMS,
               **kwargs):
    super().__init__(**kwargs)
    self.fusion = Fusion(num_items, embedding_dim, name="fusion")
    self.reward_network = _mlp(reward_dims, 1, name="reward_estimator")
    # Table 2: the last layer 128 x 128 has no activation.
    self.feedback_network = _mlp(feedback_dims[:-1], feedback_dims[-1],
                                 name="feedback_generator")
    self.feedback_dim = int(feedback_dims[-1])
    self.reward_network.build([None, embedding_dim])
    self.feedback_network.build([None, embedding_dim + 1])

  def reward_logits(self, history, recommendation) -> tf.Tensor:
    """g(h(x, a)) [B]."""
    return self._reward_logits(self.fusion(history, recommendation))

  def _reward_logits(self, fused):
    return tf.squeeze(self.reward_network(fused), axis=-1)

  def feedback(self, history, recommendation) -> tf.Tensor:
    """v = F([h(x, a), R(x, a)]) [B, feedback_dim]."""
    fused = self.fusion(history, recommendation)
    reward = tf.sigmoid(self._reward_logits(fused))
    return self.feedback_network(tf.concat([fused, reward[:, None]], axis=1))

  def call(self, history, recommendation):
    return self.feedback(history, recommendation)

  @property
  def reward_variables(self) -> list:
    """phi: the lookup table and g."""
    return self.fusion.trainable_variables + self.reward_network.trainable_variables

  @property
  def feedback_variables(self) -> list:
    """psi: F."""
    return self.feedback_network.trainable_variables
