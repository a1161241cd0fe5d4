"""In-graph ranking metrics per row, for training targets (GuidedRec lists, RaCT's critic).

`labels` are binary [B, L] (any value > 0 is relevant) and `scores` [B, L].
Scores of -inf mark excluded items: they are never hits, as in
`tfrankcf.metrics.ranking`. `k` is a Python int and may exceed L (then k = L).
Rows without a relevant item score 0, not NaN: a training target must be
finite. Ties follow `tf.math.top_k` (lower index first), so the values agree
with the pessimistic numpy metrics whenever a row's finite scores have no
ties. Everything is vectorised and works inside `tf.function`.
"""

import tensorflow as tf


def _top_k_hits(labels: tf.Tensor, scores: tf.Tensor, k: int):
  """Hits [B, k'] of the k' = min(k, L) best items, min(k', #relevant) [B] and k'."""
  k = tf.minimum(k, tf.shape(scores)[1])
  values, top = tf.math.top_k(scores, k=k, sorted=True)
  relevant = labels > 0
  hits = tf.gather(relevant, top, batch_dims=1) & (values > float("-inf"))
  num_relevant = tf.reduce_sum(tf.cast(relevant, tf.int32), axis=1)
  return hits, tf.minimum(num_relevant, k), k


def _metric_dtype(scores: tf.Tensor) -> tf.DType:
  return tf.float64 if scores.dtype == tf.float64 else tf.float32


def ndcg_at_k(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
  """NDCG@k [B]: binary gains, 1/log2(rank+1), ideal DCG over min(k, #relevant).

  >>> import tensorflow as tf
  >>> from tfrankcf.metrics.ranking_tf import ndcg_at_k
  >>> labels = tf.constant([[0., 1., 0., 0.], [0., 0., 0., 0.]])
  >>> ndcg = ndcg_at_k(labels, tf.constant([[0.4, 0.3, 0.2, 0.1]] * 2), k=2)
  >>> [round(value, 4) for value in ndcg.numpy().tolist()]  # rank 2: 1/log2(3); none: 0
  [0.6309, 0.0]
  """
  scores = tf.convert_to_tensor(scores)
  dtype = _metric_dtype(scores)
  hits, cutoff, k = _top_k_hits(tf.convert_to_tensor(labels), scores, k)
  ranks = tf.cast(tf.range(2, k + 2), dtype)
  discounts = tf.math.log(tf.constant(2.0, dtype)) / tf.math.log(ranks)
  dcg = tf.reduce_sum(tf.cast(hits, dtype) * discounts, axis=1)
  ideal_dcg = tf.gather(tf.concat([tf.ones([1], dtype), tf.cumsum(discounts)], 0), cutoff)
  return tf.where(cutoff > 0, dcg / ideal_dcg, tf.zeros_like(dcg))


def recall_at_k(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
  """Recall@k [B]: hits in the top k / min(k, #relevant).

  >>> import tensorflow as tf
  >>> from tfrankcf.metrics.ranking_tf import recall_at_k
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 1., 1., 0.]])
  >>> recall_at_k(labels, tf.constant([[0.4, 0.3, 0.2, 0.1]] * 2), k=2).numpy().tolist()
  [1.0, 1.0]
  """
  scores = tf.convert_to_tensor(scores)
  dtype = _metric_dtype(scores)
  hits, cutoff, _ = _top_k_hits(tf.convert_to_tensor(labels), scores, k)
  num_hits = tf.reduce_sum(tf.cast(hits, dtype), axis=1)
  return tf.where(cutoff > 0, num_hits / tf.cast(tf.maximum(cutoff, 1), dtype),
                  tf.zeros_like(num_hits))


def recall_full_at_k(labels: tf.Tensor, scores: tf.Tensor, k: int) -> tf.Tensor:
  """Full Recall@k [B]: hits in the top k / #relevant (LightGCN, NGCF, RecBole).

  >>> import tensorflow as tf
  >>> from tfrankcf.metrics.ranking_tf import recall_full_at_k
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 1., 1., 0.]])
  >>> recall = recall_full_at_k(labels, tf.constant([[0.4, 0.3, 0.2, 0.1]] * 2), k=2)
  >>> [round(value, 4) for value in recall.numpy().tolist()]  # 1/1, 2/3
  [1.0, 0.6667]
  """
  scores = tf.convert_to_tensor(scores)
  labels = tf.convert_to_tensor(labels)
  dtype = _metric_dtype(scores)
  hits, _, _ = _top_k_hits(labels, scores, k)
  num_hits = tf.reduce_sum(tf.cast(hits, dtype), axis=1)
  num_relevant = tf.reduce_sum(tf.cast(labels > 0, dtype), axis=1)
  return tf.where(num_relevant > 0, num_hits / tf.maximum(num_relevant, 1),
                  tf.zeros_like(num_hits))
