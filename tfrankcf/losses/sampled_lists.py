"""A TF-Ranking loss on a sampled candidate list of each whole catalogue row.

TF-Ranking's listwise losses cost B x L x L, so an autoencoder, whose decoder
scores all M items of a user, is trained on a list of L of them per user: up to
L/2 of the user's items (labels > 0 in the row), drawn uniformly without
replacement, and uniform negatives from the rest of the catalogue filling the
list to L. The list's labels are the row's values and its logits are gathered
from the decoder's row (`tf.gather(..., batch_dims=1)`): nothing scans the
catalogue beyond one `tf.where` over the batch's rows.

Negatives are drawn by exact vectorised rejection, as
`tfrankcf.inputs.negatives.NegativeSampler` does, except that membership is a
lookup in the batch's own rows (the loss sees rows, not user ids): each slot
draws a uniform item, and the slots that hit one of their row's items draw
again, round r with `stateless_fold_in(seed, r)`. Negatives are drawn with
replacement. Everything is a function of the stateless seed [2] of the call.
"""

import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses.ranking import ListLoss

_fold = tf.random.experimental.stateless_fold_in


class SampledListLoss:
  """`loss` on sampled lists of `list_size` items: (labels [B, M], logits [B, M], seed) -> [B].

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import Softmax
  >>> from tfrankcf.losses.sampled_lists import SampledListLoss
  >>> loss, seed = SampledListLoss(Softmax(), list_size=2), tf.constant([1, 2])
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 0., 1., 0.]])
  >>> loss.candidates(labels, seed).numpy()[:, 0].tolist()  # the row's item first, then a negative
  [0, 2]
  >>> [round(value, 4) for value in loss(labels, tf.zeros([2, 4]), seed).numpy().tolist()]
  [0.6931, 0.6931]

  (Softmax over 1 positive and 1 negative at equal logits: ln 2.)
  """

  stochastic = True
  # The positives are a data-dependent number of items per row (tf.where, bincount).
  jit_compile_blocker = "sampled candidate lists (a data-dependent number of positives per row)"

  def __init__(self, loss: ListLoss, list_size: int = 100):
    if list_size < 2:
      raise InputError(f"a sampled list needs at least 2 items, got list_size={list_size}")
    self.loss = loss
    self.name = loss.name
    self.list_size = int(list_size)
    self.num_positives = self.list_size // 2

  def candidates(self, labels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Item ids [B, L]: min(P, L/2) of the row's P items first, then negatives."""
    num_rows = tf.shape(labels, out_type=tf.int64)[0]
    relevant = tf.where(labels > 0)  # [N, 2], row-major
    # Group by row, random order within the row: sort by key, then stably by row.
    keys = tf.random.stateless_uniform(tf.shape(relevant)[:1], _fold(seed, 0))
    by_key = tf.argsort(keys, stable=True)
    order = tf.gather(by_key, tf.argsort(tf.gather(relevant[:, 0], by_key), stable=True))
    rows = tf.gather(relevant[:, 0], order)
    items = tf.gather(relevant[:, 1], order)
    counts = tf.math.bincount(rows, minlength=num_rows, maxlength=num_rows, dtype=tf.int64)
    position = (tf.range(tf.size(rows, out_type=tf.int64))
                - tf.gather(tf.cumsum(counts, exclusive=True), rows))
    kept = position < self.num_positives
    positives = tf.scatter_nd(
        tf.stack([tf.boolean_mask(rows, kept), tf.boolean_mask(position, kept)], axis=1),
        tf.boolean_mask(items, kept), tf.stack([num_rows, self.list_size]))
    slots = tf.range(self.list_size, dtype=tf.int64)
    is_positive = slots[tf.newaxis] < tf.minimum(counts, self.num_positives)[:, tf.newaxis]
    return tf.where(is_positive, positives, self.negatives(labels, _fold(seed, 1)))

  def negatives(self, labels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Uniform items [B, L] outside each row's items (rows holding every item: any item)."""
    shape = tf.stack([tf.shape(labels)[0], self.list_size])
    num_items = tf.shape(labels, out_type=tf.int64)[1]
    has_negatives = tf.reduce_any(labels <= 0, axis=1, keepdims=True)

    def draw(round_index):
      return tf.random.stateless_uniform(shape, _fold(seed, round_index), minval=0,
                                         maxval=num_items, dtype=tf.int64)

    def hits(negatives):
      return (tf.gather(labels, negatives, batch_dims=1) > 0) & has_negatives

    def redraw(round_index, negatives):
      round_index += 1
      return round_index, tf.where(hits(negatives), draw(round_index), negatives)

    start = tf.constant(0, tf.int64)
    _, negatives = tf.while_loop(lambda _, negatives: tf.reduce_any(hits(negatives)),
                                 redraw, (start, draw(start)))
    return negatives

  def __call__(self, labels: tf.Tensor, logits: tf.Tensor,
               seed: tf.Tensor | None = None) -> tf.Tensor:
    if seed is None:
      raise ValueError(f"sampled lists of '{self.name}' are stochastic: pass a seed [2]")
    items = self.candidates(labels, _fold(seed, 0))
    return self.loss(tf.gather(labels, items, batch_dims=1),
                     tf.gather(logits, items, batch_dims=1), seed=_fold(seed, 1))
