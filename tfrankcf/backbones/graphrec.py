"""GraphRec (Rashed et al., RecSys 2019): co-embeddings of graph features, scored by inner product.

A user's features are [one-hot id (N), the user's row of the normalised
interaction matrix (M), the normalised degree (1)]; an item's are [one-hot id
(M), the item's column (N), its degree (1)]. Interaction values are divided by
the largest one (the original's rating / 5; 1 for binary data) and degrees by
the largest degree. Each side goes through one dense layer with CReLU (so
`embedding_dim` d gives 2d-dimensional vectors) and the logit is their inner
product. `graph_features=False` keeps only the one-hot ids (the GuidedRec
ML-100K script's `Graph=False`); the dense layer on a one-hot vector is then a
row lookup, and that is how it is computed.

The feature matrices stay sparse: a representation is the batch's sparse
feature rows times the kernel (`sparse_dense_matmul`, about twice as fast as
`embedding_lookup_sparse` here), so only the rows of the ids in the batch
(and for graph features, the items/users they interacted with) are read and
get non-zero gradients. Kernels are
N(0, 0.01^2) and biases zero, as in the original.
"""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


def _graph_features(matrix: sp.csr_matrix) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
  """Ragged feature ids and values, one row per row of `matrix` [R, C].

  Feature ids: the row's own id (one-hot block [0, R)), R + column for each
  non-zero (interaction block), R + C (degree).
  """
  matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
  matrix.eliminate_zeros()
  matrix.sort_indices()
  num_rows, num_columns = matrix.shape
  counts = np.diff(matrix.indptr)
  top_value = matrix.data.max() if matrix.nnz else 1.0
  degree = counts / max(counts.max(), 1)
  rows = np.arange(num_rows, dtype=np.int64)
  # Per row: [own id, its non-zeros..., degree]
  lengths = counts + 2
  ids = np.empty(lengths.sum(), np.int64)
  values = np.empty(lengths.sum(), np.float32)
  starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
  ids[starts] = rows
  values[starts] = 1.0
  ends = starts + lengths - 1
  ids[ends] = num_rows + num_columns
  values[ends] = degree
  inner = np.ones(lengths.sum(), bool)
  inner[starts] = False
  inner[ends] = False
  ids[inner] = num_rows + matrix.indices
  values[inner] = matrix.data / top_value
  row_lengths = tf.constant(lengths.astype(np.int64))
  return (tf.RaggedTensor.from_row_lengths(tf.constant(ids), row_lengths),
          tf.RaggedTensor.from_row_lengths(tf.constant(values), row_lengths))


class _Side(tf.keras.layers.Layer):
  """One side (users or items): CReLU(features . W + b) -> [.., 2d]."""

  def __init__(self, num_rows: int, num_features: int, embedding_dim: int,
               features: tuple[tf.RaggedTensor, tf.RaggedTensor] | None,
               init_stddev: float, seed: int | None, **kwargs):
    super().__init__(**kwargs)
    self.num_rows = int(num_rows)
    self.features = features
    self.kernel = self.add_weight(
        name="kernel", shape=(num_features, embedding_dim),
        initializer=tf.keras.initializers.RandomNormal(stddev=init_stddev, seed=seed))
    self.bias = self.add_weight(name="bias", shape=(embedding_dim,), initializer="zeros")

  def call(self, index: tf.Tensor) -> tf.Tensor:
    flat = tf.reshape(index, [-1])
    if self.features is None:
      hidden = tf.gather(self.kernel, flat)
    else:  # the batch's feature rows as a sparse [n, F] matrix times the kernel
      ids, values = (tf.gather(part, flat) for part in self.features)
      rows = tf.SparseTensor(
          tf.stack([ids.value_rowids(), ids.flat_values], axis=1), values.flat_values,
          tf.stack([tf.size(flat, out_type=tf.int64),
                    tf.shape(self.kernel, out_type=tf.int64)[0]]))
      hidden = tf.sparse.sparse_dense_matmul(rows, self.kernel)
    vectors = tf.nn.crelu(hidden + self.bias)
    return tf.reshape(vectors, tf.concat([tf.shape(index), [-1]], 0))

  def all_rows(self) -> tf.Tensor:
    """Vectors [R, 2d] of every row."""
    return self(tf.range(self.num_rows, dtype=tf.int64))


class GraphRec(tf.keras.layers.Layer):
  """(user, item) -> logit = <CReLU(x_u W_u + b_u), CReLU(x_i W_i + b_i)>.

  Args:
    matrix: training interactions csr [N, M] (graph features come from it).
    embedding_dim: d (paper Appendix B: 20 ML-100K, 45 ML-1M, 10 MovieTweetings).
    graph_features: adjacency row/column and degree besides the one-hot id.
  """

  def __init__(self, matrix: sp.csr_matrix, embedding_dim: int = 20,
               graph_features: bool = True, init_stddev: float = 0.01,
               seed: int | None = None, **kwargs):
    super().__init__(**kwargs)
    num_users, num_items = matrix.shape
    self.num_users, self.num_items = int(num_users), int(num_items)
    self.graph_features = bool(graph_features)
    # Graph features are ragged rows (a user's items), which XLA cannot compile.
    self.jit_compile_blocker = ("GraphRec's graph features (ragged rows)"
                                if self.graph_features else None)
    size = num_users + num_items + 1 if graph_features else None
    seeds = (None, None) if seed is None else (int(seed), int(seed) + 1)
    self.user_side = _Side(
        num_users, size or num_users, embedding_dim,
        _graph_features(matrix) if graph_features else None, init_stddev, seeds[0],
        name="users")
    self.item_side = _Side(
        num_items, size or num_items, embedding_dim,
        _graph_features(sp.csr_matrix(matrix).T.tocsr()) if graph_features else None,
        init_stddev, seeds[1], name="items")

  def call(self, user_index: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    """Logits [B, L] of `items` [B, L] for users `user_index` [B]."""
    return tf.einsum("bd,bld->bl", self.user_side(user_index), self.item_side(items))

  def all_item_scores(self, user_index: tf.Tensor) -> tf.Tensor:
    """Logits [B, M] of every item: one matrix product with all item vectors."""
    return tf.matmul(self.user_side(user_index), self.item_side.all_rows(), transpose_b=True)

  def candidate_scores(self, user_index: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    return self(user_index, items)
