"""Matrix factorisation without biases: y_ui = <p_u, q_i> (BPR-MF, APR's AMF).

The embedding tables P [N, K] and Q [M, K] are read with `tf.gather`, so the
gradient of a batch loss with respect to them is a `tf.IndexedSlices` over
the batch's rows and the optimiser updates only those rows: a 30K x 40K x 64
model trains in the memory of its two tables and their optimiser slots.

Perturbations (APR) are added to the gathered rows, not to the tables, so the
same lookup serves the clean and the perturbed scores.
"""

import tensorflow as tf


class MatrixFactorization(tf.keras.layers.Layer):
  """User and item embedding tables scored by their dot product.

  Initialised truncated-normal(0, init_stddev) as the APR code does
  (truncated at two standard deviations, like TF1's `truncated_normal`).
  """

  def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64,
               init_stddev: float = 0.01, seed: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.num_users = int(num_users)
    self.num_items = int(num_items)
    self.embedding_dim = int(embedding_dim)
    seeds = (None, None) if seed is None else (int(seed), int(seed) + 1)
    self.user_embeddings = self.add_weight(
        name="user_embeddings", shape=(self.num_users, self.embedding_dim),
        initializer=tf.keras.initializers.TruncatedNormal(stddev=init_stddev,
                                                          seed=seeds[0]))
    self.item_embeddings = self.add_weight(
        name="item_embeddings", shape=(self.num_items, self.embedding_dim),
        initializer=tf.keras.initializers.TruncatedNormal(stddev=init_stddev,
                                                          seed=seeds[1]))

  def users(self, user_index: tf.Tensor) -> tf.Tensor:
    """Rows p_u [..., K] of `user_index`."""
    return tf.gather(self.user_embeddings, user_index)

  def items(self, item_index: tf.Tensor) -> tf.Tensor:
    """Rows q_i [..., K] of `item_index`."""
    return tf.gather(self.item_embeddings, item_index)

  def all_item_scores(self, user_index: tf.Tensor) -> tf.Tensor:
    """Scores [B, M] of every item for users `user_index` [B]."""
    return tf.matmul(self.users(user_index), self.item_embeddings, transpose_b=True)

  def candidate_scores(self, user_index: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    """Scores [B, C] of `items` [B, C] for users `user_index` [B]."""
    return tf.einsum("bk,bck->bc", self.users(user_index), self.items(items))

  def call(self, user_index: tf.Tensor) -> tf.Tensor:
    return self.all_item_scores(user_index)


def triplet_margins(user_vectors: tf.Tensor, positive_vectors: tf.Tensor,
                    negative_vectors: tf.Tensor) -> tf.Tensor:
  """x_uij = <p_u, q_i> - <p_u, q_j> [B] from gathered (maybe perturbed) rows [B, K]."""
  return tf.reduce_sum(user_vectors * (positive_vectors - negative_vectors), axis=-1)
