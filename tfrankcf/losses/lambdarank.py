"""LambdaRank with NDCG weights over the full catalogue, in bounded memory.

LambdaRank (Burges et al. 2006) moves each (relevant i, irrelevant j) pair of
scores with the RankNet gradient sigma(s_j - s_i) scaled by |Delta NDCG_ij|,
the change of NDCG when the two items swap ranks. This is the loss whose
gradient is exactly that, with the weights held constant:

  L = sum_{i relevant, j irrelevant} |Delta NDCG_ij| * log(1 + exp(s_j - s_i)),
  |Delta NDCG_ij| = |1/log2(1 + r_i) - 1/log2(1 + r_j)| / IDCG,

with r the 1-based rank in the full list and IDCG over all relevant items (as
in RaCT's LambdaRank baseline, which applies it to the actor's logits over the
whole catalogue). The B x P x M pair tensor (P relevant items) is never built
whole: the batch's (user, relevant item) entries are processed `chunk_size` at
a time against their user's M scores, so the work is (sum of relevant counts) x
M rather than B x max-relevant x M, and the gradient is accumulated in the same
pass (a custom gradient): peak memory is O(chunk_size x M).
"""

import tensorflow as tf


def lambdarank_loss(labels: tf.Tensor, scores: tf.Tensor,
                    chunk_size: int = 1024) -> tf.Tensor:
  """NDCG-weighted pairwise logistic loss per row.

  Args:
    labels: [B, M] relevance; items with labels > 0 are relevant.
    scores: [B, M] scores (logits).
    chunk_size: (user, relevant item) pairs per step of the loop (memory bound).

  Returns:
    [B] loss values (0 for rows without a relevant item); differentiable in
    `scores` with the LambdaRank gradient.

  Example:
    >>> import tensorflow as tf
    >>> from tfrankcf.losses.lambdarank import lambdarank_loss
    >>> loss = lambdarank_loss(tf.constant([[0., 1.], [0., 0.]]), tf.zeros([2, 2]))
    >>> [round(value, 4) for value in loss.numpy().tolist()]
    [0.2558, 0.0]

    (Tied scores rank the relevant item 2nd: |1 - 1/log2(3)| * ln 2; no relevant item: 0.)
  """
  scores = tf.convert_to_tensor(scores)
  relevant = tf.cast(labels > 0, scores.dtype)

  @tf.custom_gradient
  def _loss(scores):
    dtype = scores.dtype
    batch_size, num_items = tf.shape(scores)[0], tf.shape(scores)[1]
    irrelevant = 1.0 - relevant
    num_relevant = tf.cast(tf.reduce_sum(relevant, axis=1), tf.int32)
    order = tf.argsort(scores, axis=1, direction="DESCENDING", stable=True)
    ranks = tf.argsort(order, axis=1, stable=True) + 1
    discount = 1.0 / (tf.math.log(tf.cast(ranks, dtype) + 1.0) / tf.math.log(
        tf.constant(2.0, dtype)))
    ideal = tf.cumsum(1.0 / (tf.math.log(tf.range(2, num_items + 2, dtype=dtype)) /
                             tf.math.log(tf.constant(2.0, dtype))))
    idcg = tf.gather(ideal, tf.maximum(num_relevant - 1, 0))
    norm = tf.where(num_relevant > 0, 1.0 / idcg, tf.zeros_like(idcg))
    pairs = tf.where(relevant > 0)  # [R, 2] (user, item), R = relevant entries
    num_pairs = tf.shape(pairs, out_type=tf.int32)[0]

    def body(start, loss, gradient):
      chunk = pairs[start:start + chunk_size]  # [C, 2]
      users = chunk[:, 0]
      s_i = tf.gather_nd(scores, chunk)
      d_i = tf.gather_nd(discount, chunk)
      margin = tf.gather(scores, users) - s_i[:, None]  # s_j - s_i, [C, M]
      weight = (tf.abs(d_i[:, None] - tf.gather(discount, users))
                * tf.gather(irrelevant, users) * tf.gather(norm, users)[:, None])
      loss += tf.ensure_shape(tf.math.unsorted_segment_sum(
          tf.reduce_sum(weight * tf.nn.softplus(margin), axis=1), users, batch_size),
                              loss.shape)
      pull = weight * tf.sigmoid(margin)
      gradient += tf.ensure_shape(  # irrelevant items pushed down
          tf.math.unsorted_segment_sum(pull, users, batch_size), gradient.shape)
      gradient = tf.tensor_scatter_nd_add(gradient, chunk, -tf.reduce_sum(pull, axis=1))
      return start + chunk_size, loss, gradient

    _, loss, gradient = tf.while_loop(
        lambda start, *_: start < num_pairs, body,
        (tf.constant(0), tf.zeros([batch_size], dtype), tf.zeros_like(scores)))

    def grad_fn(upstream):
      return upstream[:, None] * gradient

    return loss, grad_fn

  return _loss(scores)
