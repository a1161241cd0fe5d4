"""TF-Ranking's ApproxNDCG over a user's whole catalogue row, in bounded memory.

TF-Ranking's `ApproxNDCGLoss` approximates every item's rank by
rank_i = 1/2 + sum_j sigmoid((s_j - s_i) / T) over a [B, L, L] tensor, which
for a catalogue of M items is B x M x M (tensorflow/ranking#209). The DCG only
needs the ranks of the relevant items (every other gain is 0), so here the
ranks are computed for the P relevant items of each row only: cost B x P x M,
and in chunks of items sized so that the chunk's [pairs, chunk] tensors stay
within `memory_budget_mb`. The gradient (a custom one) reuses the forward's
[pairs, M] sigmoids when they fit in the budget too, and otherwise recomputes
them chunk by chunk, so the backward pass stays within the budget as well.

Everything else is TF-Ranking's (tfr 0.5.5 `losses_impl.ApproxNDCGLoss`): logits
divided by the temperature (default 0.1); items with a negative label are
padding (their logit set to min - 1e3, their label to 0); gains
2^(y - max y) - 2^(-max y) in the DCG and in the ideal DCG (its "safe" gain);
discount 1 / ln(1 + rank); the loss is -NDCG, and 0 for a row without a
relevant item (TF-Ranking gives that list weight 0). Called like a
`tfrankcf.losses.ranking.ListLoss`: `loss(labels, logits) -> [B]`.
"""

import tensorflow as tf

_FLOAT_BYTES = 4
# [pairs, chunk] float32 tensors alive at once in a chunk: the gathered scores,
# their difference to the own score, its sigmoid and (backward) 1 - sigmoid and
# the derivative, each freed once consumed.
_LIVE_BLOCKS = 4
_CACHE_BLOCK_BYTES = 8 * 2**20


def approx_ranks_of_pairs(scores: tf.Tensor, rows: tf.Tensor, items: tf.Tensor,
                          chunk_size: tf.Tensor, keep_sigmoids: bool | tf.Tensor = False
                          ) -> tf.Tensor:
  """1/2 + sum_j sigmoid(scores[r, j] - scores[r, i]) for each pair (r, i), [P].

  Args:
    scores: [B, M] float32 (already divided by the temperature).
    rows: [P] int64 row of each pair.
    items: [P] int64 item of each pair.
    chunk_size: items per chunk; memory is O(P x chunk_size) forward and backward.
    keep_sigmoids: keep the forward's [P, M] sigmoids for the gradient instead
      of recomputing them chunk by chunk (the sigmoids are most of the cost:
      about a third less time, P x M floats more memory).

  Example:
    >>> import tensorflow as tf
    >>> from tfrankcf.losses.full_catalogue import approx_ranks_of_pairs
    >>> pair = tf.constant([0], tf.int64)  # row 0, item 0
    >>> approx_ranks_of_pairs(tf.zeros([1, 4]), pair, pair, chunk_size=3).numpy().tolist()
    [2.5]

    (1/2 + four sigmoids of 0, the item's own included: the middle of 4 tied items.)
  """
  num_rows = tf.shape(scores, out_type=tf.int64)[0]
  num_items = tf.shape(scores, out_type=tf.int64)[1]
  chunk_size = tf.cast(chunk_size, tf.int64)
  keep_sigmoids = tf.convert_to_tensor(keep_sigmoids, tf.bool)
  starts = tf.range(0, num_items, chunk_size)
  num_chunks = tf.size(starts)
  pairs = tf.stack([rows, items], axis=1)

  @tf.custom_gradient
  def ranks(scores):
    own = tf.gather_nd(scores, pairs)
    nothing = tf.zeros([0, 0], scores.dtype)

    def sigmoids(chunk):
      start = starts[chunk]
      columns = scores[:, start:tf.minimum(start + chunk_size, num_items)]
      return tf.sigmoid(tf.gather(columns, rows) - own[:, tf.newaxis])

    def add_chunk(chunk, total, kept):
      sigmoid = sigmoids(chunk)
      kept = kept.write(chunk, tf.cond(keep_sigmoids, lambda: sigmoid, lambda: nothing))
      return chunk + 1, total + tf.reduce_sum(sigmoid, axis=1), kept

    kept = tf.TensorArray(scores.dtype, size=num_chunks, infer_shape=False,
                          element_shape=tf.TensorShape(None))
    _, total, kept = tf.while_loop(lambda chunk, *_: chunk < num_chunks, add_chunk,
                                   (0, tf.fill(tf.shape(own), 0.5), kept),
                                   parallel_iterations=1)

    def gradient(upstream):
      # d rank_p / d s[r, j] = sigmoid'(s[r, j] - s[r, i]) for every j, and
      # d rank_p / d s[r, i] = -sum_j of them.
      weights = tf.sparse.SparseTensor(
          tf.stack([rows, tf.range(tf.size(rows, out_type=tf.int64))], axis=1), upstream,
          tf.stack([num_rows, tf.size(rows, out_type=tf.int64)]))

      def add_chunk_gradient(chunk, columns, own_gradient):
        sigmoid = tf.cond(keep_sigmoids, lambda: kept.read(chunk), lambda: sigmoids(chunk))
        sigmoid = tf.ensure_shape(sigmoid, [None, None])
        derivative = sigmoid * (1.0 - sigmoid)
        column_gradient = tf.sparse.sparse_dense_matmul(weights, derivative)
        return (chunk + 1, columns.write(chunk, tf.transpose(column_gradient)),
                own_gradient + tf.reduce_sum(derivative, axis=1))

      columns = tf.TensorArray(scores.dtype, size=num_chunks, infer_shape=False)
      _, columns, own_gradient = tf.while_loop(
          lambda chunk, *_: chunk < num_chunks, add_chunk_gradient,
          (0, columns, tf.zeros_like(own)), parallel_iterations=1)
      return (tf.transpose(columns.concat())
              - tf.scatter_nd(pairs, upstream * own_gradient,
                              tf.shape(scores, out_type=tf.int64)))

    return total, gradient

  return ranks(scores)


class FullCatalogueApproxNDCG:
  """ApproxNDCG of whole rows [B, M]: (labels, logits, seed=None) -> [B], TF-Ranking's values.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.full_catalogue import FullCatalogueApproxNDCG
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 1., 0., 0.]])
  >>> logits = tf.constant([[4., 3., 2., 1.]] * 2)  # gaps of 10 temperatures: ranks ~exact
  >>> loss = FullCatalogueApproxNDCG(memory_budget_mb=1.0)(labels, logits)
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # rank 1; rank 2: 1/log2(3)
  [-1.0, -0.6309]
  """

  name = "approx_ndcg"
  stochastic = False
  jit_compile_blocker = "the full-catalogue ApproxNDCG (one rank per relevant item: tf.where)"

  def __init__(self, temperature: float = 0.1, memory_budget_mb: float = 1024.0):
    self.temperature = float(temperature)
    self.memory_budget_mb = float(memory_budget_mb)

  def chunk_size(self, num_pairs: tf.Tensor) -> tf.Tensor:
    """Items per chunk: the chunk's tensors within the budget and cache-sized (at least 1)."""
    budget = int(self.memory_budget_mb * 2**20) // _LIVE_BLOCKS
    elements = min(budget, _CACHE_BLOCK_BYTES) // _FLOAT_BYTES
    return tf.maximum(tf.constant(elements, tf.int64) // tf.maximum(num_pairs, 1), 1)

  def keeps_sigmoids(self, num_pairs: tf.Tensor, num_items: tf.Tensor) -> tf.Tensor:
    """Whether the [pairs, M] sigmoids fit in the budget beside the chunks: then the
    gradient reuses them instead of recomputing them."""
    chunk_bytes = (_LIVE_BLOCKS * _FLOAT_BYTES * num_pairs
                   * tf.minimum(self.chunk_size(num_pairs), num_items))
    return (_FLOAT_BYTES * num_pairs * num_items + chunk_bytes
            <= int(self.memory_budget_mb * 2**20))

  def __call__(self, labels: tf.Tensor, logits: tf.Tensor,
               seed: tf.Tensor | None = None) -> tf.Tensor:
    del seed  # deterministic
    labels = tf.cast(labels, tf.float32)
    scores = tf.cast(logits, tf.float32) / self.temperature
    valid = labels >= 0.0
    labels = tf.where(valid, labels, 0.0)
    scores = tf.where(valid, scores,
                      -1e3 + tf.reduce_min(scores, axis=-1, keepdims=True))
    relevant = tf.where(labels > 0.0)  # [P, 2], row-major
    rows, items = relevant[:, 0], relevant[:, 1]
    num_rows = tf.shape(labels, out_type=tf.int64)[0]
    num_pairs = tf.shape(rows, out_type=tf.int64)[0]
    ranks = approx_ranks_of_pairs(
        scores, rows, items, self.chunk_size(num_pairs),
        self.keeps_sigmoids(num_pairs, tf.shape(scores, out_type=tf.int64)[1]))

    max_label = tf.gather(tf.reduce_max(labels, axis=-1), rows)
    gains = tf.pow(2.0, tf.gather_nd(labels, relevant) - max_label) - tf.pow(2.0, -max_label)
    dcg = tf.math.unsorted_segment_sum(gains / tf.math.log1p(ranks), rows, num_rows)
    ideal_gains = tf.sort(tf.RaggedTensor.from_value_rowids(
        gains, rows, nrows=num_rows).to_tensor(0.0), axis=1, direction="DESCENDING")
    positions = tf.cast(tf.range(tf.shape(ideal_gains)[1]) + 1, tf.float32)
    ideal_dcg = tf.reduce_sum(ideal_gains / tf.math.log1p(positions), axis=1)
    return -dcg * tf.where(ideal_dcg > 0.0, 1.0 / ideal_dcg, 0.0)
