"""WARP over the full catalogue in O(M log M) per user (RaCT, appendix F.4).

WARP (Weston et al. 2011) sums, over pairs of a relevant item i and an
irrelevant item j, w(r_i) * max(0, margin + s_j - s_i). RaCT's actor uses the
margin-free version, whose value is piecewise linear in the scores: with the
items sorted by score, each term that is active (j ranked above i) is
w(r_i) * (s_j - s_i), so the loss is a dot product of the scores with a
coefficient vector that counts, for every item, the pairs it takes part in.
One sort and two cumulative sums give that vector for the whole batch.

As in RaCT's code, r_i is the item's position in the full ranking (1-based)
and w(r) = sum_{k=1..r} 1/k.
"""

import tensorflow as tf


def warp_loss(labels: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
  """Margin-free WARP loss per row.

  Args:
    labels: [B, M] relevance; items with labels > 0 are relevant.
    scores: [B, M] scores (logits).

  Returns:
    [B] sum over (relevant i, irrelevant j ranked above i) of
    w(rank_i) * (s_j - s_i); differentiable in `scores`.

  Example:
    >>> import tensorflow as tf
    >>> from tfrankcf.losses.warp import warp_loss
    >>> labels = tf.constant([[1., 0., 0., 0.], [0., 0., 0., 1.]])
    >>> loss = warp_loss(labels, tf.constant([[0.4, 0.3, 0.2, 0.1]] * 2))
    >>> [round(value, 4) for value in loss.numpy().tolist()]
    [0.0, 1.25]

    (Row 2's item is ranked 4th: w(4) = 25/12 times (0.3 + 0.2 + 0.1).)
  """
  scores = tf.convert_to_tensor(scores)
  relevant = tf.cast(labels > 0, scores.dtype)
  order = tf.argsort(scores, axis=1, direction="DESCENDING", stable=True)
  sorted_scores = tf.gather(scores, order, batch_dims=1)
  sorted_relevant = tf.gather(relevant, order, batch_dims=1)
  sorted_irrelevant = 1.0 - sorted_relevant
  num_items = tf.shape(scores)[1]
  positions = tf.range(1, num_items + 1, dtype=scores.dtype)
  rank_weight = tf.cumsum(1.0 / positions)  # w(r) = H_r
  # Relevant item at position r: -w(r) for every irrelevant item above it.
  irrelevant_above = tf.cumsum(sorted_irrelevant, axis=1, exclusive=True)
  relevant_coef = sorted_relevant * rank_weight * irrelevant_above
  # Irrelevant item: +w(r_i) for every relevant item i below it.
  weight_below = tf.cumsum(sorted_relevant * rank_weight, axis=1, exclusive=True,
                           reverse=True)
  irrelevant_coef = sorted_irrelevant * weight_below
  coef = tf.stop_gradient(irrelevant_coef - relevant_coef)
  return tf.reduce_sum(coef * sorted_scores, axis=1)
