"""NeuMF (He et al. 2017) as in the GuidedRec code (`NueMF.py`): GMF and MLP towers on one-hot ids.

GMF: user and item embeddings of `gmf_dim` (8), multiplied elementwise. MLP:
user and item embeddings of `mlp_layers[0]`, concatenated, then dense ReLU
layers `mlp_layers[1:]` (Appendix B: [16, 16, 8, 8] for ML-100K and
MovieTweetings, [64, 64, 32, 16] for ML-1M). The logit is a dense layer on
[GMF, MLP]. The original writes the embeddings as dense layers on one-hot
vectors, so every embedding has a bias; here they are row lookups plus that
bias. Every kernel is N(0, 0.01^2), biases zero.

Full-catalogue scoring never forms the [B, M, 2 * mlp_layers[0]] concatenation:
the first MLP layer is split into its user and item halves, each a matrix
product of that side's embeddings, and broadcast-added.
"""

from typing import Sequence

import tensorflow as tf


class NeuMF(tf.keras.layers.Layer):
  """(user, item) -> logit of GMF (x) MLP."""

  def __init__(self, num_users: int, num_items: int, gmf_dim: int = 8,
               mlp_layers: Sequence[int] = (16, 16, 8, 8), init_stddev: float = 0.01,
               seed: int | None = None, **kwargs):
    super().__init__(**kwargs)
    if len(mlp_layers) < 2:
      raise ValueError(f"mlp_layers needs the embedding size and at least one layer, "
                       f"got {list(mlp_layers)}")
    self.num_users, self.num_items = int(num_users), int(num_items)
    base = 0 if seed is None else int(seed)

    def init(offset):
      return tf.keras.initializers.RandomNormal(
          stddev=init_stddev, seed=None if seed is None else base + offset)

    def table(name, rows, dim, offset):
      return (self.add_weight(name=name, shape=(rows, dim), initializer=init(offset)),
              self.add_weight(name=name + "_bias", shape=(dim,), initializer="zeros"))

    self.user_gmf = table("user_gmf", num_users, gmf_dim, 0)
    self.item_gmf = table("item_gmf", num_items, gmf_dim, 1)
    self.user_mlp = table("user_mlp", num_users, mlp_layers[0], 2)
    self.item_mlp = table("item_mlp", num_items, mlp_layers[0], 3)
    self.first_user = self.add_weight(name="mlp_1_user_kernel",
                                      shape=(mlp_layers[0], mlp_layers[1]),
                                      initializer=init(4))
    self.first_item = self.add_weight(name="mlp_1_item_kernel",
                                      shape=(mlp_layers[0], mlp_layers[1]),
                                      initializer=init(5))
    self.first_bias = self.add_weight(name="mlp_1_bias", shape=(mlp_layers[1],),
                                      initializer="zeros")
    self.hidden = [tf.keras.layers.Dense(units, activation="relu", kernel_initializer=init(6 + j),
                                         name=f"mlp_{j + 2}")
                   for j, units in enumerate(mlp_layers[2:])]
    self.output_layer = tf.keras.layers.Dense(
        1, kernel_initializer=init(6 + len(mlp_layers)), name="prediction")

  @staticmethod
  def _lookup(table, index):
    kernel, bias = table
    return tf.gather(kernel, index) + bias

  def _scores(self, user_index: tf.Tensor, items: tf.Tensor | None) -> tf.Tensor:
    """Logits [B, L] of `items` [B, L], or of every item [B, M] when `items` is None."""
    if items is None:
      item_gmf = (self.item_gmf[0] + self.item_gmf[1])[tf.newaxis]        # [1, M, g]
      item_mlp = (self.item_mlp[0] + self.item_mlp[1])[tf.newaxis]        # [1, M, e]
    else:
      item_gmf = self._lookup(self.item_gmf, items)                       # [B, L, g]
      item_mlp = self._lookup(self.item_mlp, items)
    user_gmf = self._lookup(self.user_gmf, user_index)[:, tf.newaxis]     # [B, 1, g]
    user_mlp = self._lookup(self.user_mlp, user_index)
    hidden = tf.nn.relu(tf.matmul(user_mlp, self.first_user)[:, tf.newaxis]
                        + tf.tensordot(item_mlp, self.first_item, 1) + self.first_bias)
    for layer in self.hidden:
      hidden = layer(hidden)
    gmf = user_gmf * item_gmf  # broadcasts like `hidden`: [B, L or M, .]
    return tf.squeeze(self.output_layer(tf.concat([gmf, hidden], -1)), -1)

  def call(self, user_index: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    """Logits [B, L] of `items` [B, L] for users `user_index` [B]."""
    return self._scores(user_index, items)

  def all_item_scores(self, user_index: tf.Tensor) -> tf.Tensor:
    """Logits [B, M] of every item."""
    return self._scores(user_index, None)

  def candidate_scores(self, user_index: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    return self._scores(user_index, items)
