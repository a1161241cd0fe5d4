"""In-graph ranking metrics per row, for training targets (GuidedRec lists, RaCT's critic).

`labels` are binary [B, L] floats and `scores` [B, L]; -inf scores are allowed
(excluded items). Rows without a relevant item score 0 (a training target must
be finite). Ties follow `tf.math.top_k` (lower index first), so these agree
with `tfrankcf.metrics.ranking` whenever the scores of a row have no ties.
"""

import tensorflow as tf


def _top_k_gains(labels, scores, k: int):
  k = tf.minimum(k, tf.shape(scores)[1])
  _, top = tf.math.top_k(scores, k=k, sorted=True)
  gains = tf.gather(tf.cast(labels > 0, scores.dtype), top, batch_dims=1)
  num_relevant = tf.reduce_sum(tf.cast(labels > 0, tf.int32), axis=1)
  return gains, tf.minimum(num_relevant, k), k


def ndcg_at_k(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
  """NDCG@k [B]: binary gains, 1/log2(rank+1), ideal DCG over min(k, #relevant)."""
  scores = tf.convert_to_tensor(scores)
  gains, cutoff, k = _top_k_gains(labels, scores, k)
  ranks = tf.cast(tf.range(2, k + 2), scores.dtype)
  discounts = tf.math.log(tf.constant(2.0, scores.dtype)) / tf.math.log(ranks)
  dcg = tf.reduce_sum(gains * discounts, axis=1)
  ideal = tf.gather(tf.concat([[1.0], tf.cumsum(discounts)], 0), cutoff)
  return tf.where(cutoff > 0, dcg / ideal, tf.zeros_like(dcg))


def recall_at_k(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
  """Recall@k [B]: hits in the top k / min(k, #relevant)."""
  scores = tf.convert_to_tensor(scores)
  gains, cutoff, _ = _top_k_gains(labels, scores, k)
  hits = tf.reduce_sum(gains, axis=1)
  return tf.where(cutoff > 0, hits / tf.cast(tf.maximum(cutoff, 1), scores.dtype),
                  tf.zeros_like(hits))
