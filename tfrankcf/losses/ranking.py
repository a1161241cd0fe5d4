"""Per-list ranking losses of labels and logits [B, L]: log loss and the TF-Ranking losses.

Every loss is called as `loss(labels, logits, seed=None)` and returns one loss
per list, [B] (reduction NONE): the caller reduces, e.g. with
`tf.nn.compute_average_loss` (mean over the global batch of lists). Labels
are graded relevance (binary in CF); negative labels mark padding, as in
TF-Ranking. Lists of any length L work (GuidedRec's 10, sampled lists of 100
for autoencoders).

The list's loss is what TF-Ranking's Keras losses return per list with
reduction NONE, i.e. `losses * weights` of `losses_impl`:

* listwise losses (`softmax`, `listmle`, `approx_ndcg`, `neural_sort`): the
  list's loss times its TF-Ranking weight (softmax: the sum of the labels;
  approx_ndcg and neural_sort: 0 for lists without a relevant item);
* `pairwise_logistic`: the SUM over the pairs with l_i > l_j of
  log(1 + exp(-(s_i - s_j))) (TF-Ranking's Keras loss keeps them as [B, L, L];
  its SUM_OVER_BATCH_SIZE therefore divides by B*L*L where the mean here
  divides by B);
* `gumbel_approx_ndcg`: the mean over `sample_size` Gumbel samples of the
  sampled lists' ApproxNDCG losses;
* `logloss`: the SUM over the list's items of the sigmoid cross-entropy.

With binary labels and a fixed number of positives per list (the list-wise
sampler) these are the TF-Ranking V1 `make_loss_fn` values the GuidedRec
baselines used, up to a constant factor per loss, which Adam ignores.

Stochastic losses take a stateless seed [2] per call (e.g. fold_in(run seed,
step)), so a run, and a resumed run, is reproducible: `gumbel_approx_ndcg`
draws its Gumbel noise from it, and `listmle` breaks ties between equal labels
(TF-Ranking does it randomly) with it. NeuralSort exists only in TF-Ranking's
V1 API; it is wrapped here from `losses_impl` (tfr 0.5.5, pinned).
"""

import tensorflow as tf
from tensorflow_ranking.python import losses_impl

from tfrankcf.errors import InputError

_EPSILON = 1e-20


class ListLoss:
  """A loss per list [B] of `labels`, `logits` [B, L].

  Subclasses implement `per_list`; a `stochastic` one needs the seed [2]:

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import ListMLE
  >>> ListMLE()(tf.constant([[1., 0.]]), tf.constant([[0., 0.]]))
  Traceback (most recent call last):
  ValueError: the 'listmle' loss is stochastic: pass a seed [2]
  """

  name = ""
  stochastic = False

  def __call__(self, labels: tf.Tensor, logits: tf.Tensor,
               seed: tf.Tensor | None = None) -> tf.Tensor:
    labels = tf.cast(labels, tf.float32)
    logits = tf.cast(logits, tf.float32)
    if self.stochastic and seed is None:
      raise ValueError(f"the '{self.name}' loss is stochastic: pass a seed [2]")
    return self.per_list(labels, logits, seed)

  def per_list(self, labels, logits, seed) -> tf.Tensor:
    raise NotImplementedError


class LogLoss(ListLoss):
  """Pointwise sigmoid cross-entropy with logits, summed over the list's valid items.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import LogLoss
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 0., -1., -1.]])  # -1: padding
  >>> loss = LogLoss()(labels, tf.zeros([2, 4]))  # every item costs ln 2 at logit 0
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # 4 ln 2, 2 ln 2
  [2.7726, 1.3863]
  """

  name = "logloss"

  def per_list(self, labels, logits, seed):
    del seed
    valid = labels >= 0
    losses = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.where(valid, labels, 0.0), logits=logits)
    return tf.reduce_sum(tf.where(valid, losses, 0.0), axis=1)


class TFRankingLoss(ListLoss):
  """A `losses_impl` loss: per list, the sum of its `losses * weights`.

  The named losses below are such wrappers; any other `losses_impl` loss works too:

  >>> import tensorflow as tf
  >>> from tensorflow_ranking.python import losses_impl
  >>> from tfrankcf.losses.ranking import TFRankingLoss
  >>> hinge = TFRankingLoss(losses_impl.PairwiseHingeLoss("pairwise_hinge"))
  >>> loss = hinge(tf.constant([[1., 0., 0., 0.]]), tf.zeros([1, 4]))
  >>> round(float(loss[0]), 4)  # 3 pairs, each max(0, 1 - 0)
  3.0
  """

  def __init__(self, impl, rescale_logits: bool = True):
    self._impl = impl
    # SoftmaxLoss.compute_unreduced_loss divides by the temperature itself.
    self._rescale_logits = rescale_logits

  def per_list(self, labels, logits, seed):
    del seed
    return self._weighted(labels, logits)

  def _weighted(self, labels, logits):
    if self._rescale_logits:
      logits = self._impl.get_logits(logits)
    losses, weights = self._impl.compute_unreduced_loss(labels, logits)
    weighted = tf.broadcast_to(losses * weights, tf.shape(losses))
    return tf.reduce_sum(tf.reshape(weighted, [tf.shape(labels)[0], -1]), axis=1)


class Softmax(TFRankingLoss):
  """Softmax cross-entropy of the list, weighted by the sum of its labels (TF-Ranking's).

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import Softmax
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 1., 0., 0.]])
  >>> loss = Softmax()(labels, tf.constant([[0., 0., 0., 0.], [0., 2., 0., 0.]]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # ln 4; ln(1 + 3 / e^2)
  [1.3863, 0.3408]
  """

  name = "softmax"

  def __init__(self, temperature: float = 1.0):
    super().__init__(losses_impl.SoftmaxLoss(self.name, temperature=temperature),
                     rescale_logits=False)


class PairwiseLogistic(TFRankingLoss):
  """Sum over pairs l_i > l_j of log(1 + exp(-(s_i - s_j) / T)).

  With binary labels (CF's implicit feedback; negative labels are padding)
  the pairs are exactly (relevant, non-relevant), so the loss is computed on
  a [B, P, N] block of the batch's largest P relevant and N non-relevant
  counts instead of TF-Ranking's [B, L, L] (4x fewer pairs for a half-relevant
  list); equal to `losses_impl` in value and gradient (tested). Graded labels
  go through `losses_impl`.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import PairwiseLogistic
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 1., 0., -1.]])  # -1: padding
  >>> loss = PairwiseLogistic()(labels, tf.zeros([2, 4]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # 3 and 2 pairs of ln 2
  [2.0794, 1.3863]
  """

  name = "pairwise_logistic"

  def __init__(self, temperature: float = 1.0):
    super().__init__(losses_impl.PairwiseLogisticLoss(self.name, temperature=temperature))

  def per_list(self, labels, logits, seed):
    del seed
    binary = tf.reduce_all((labels < 0) | tf.equal(labels, 0.0) | tf.equal(labels, 1.0))
    return tf.cond(binary, lambda: self._binary(labels, logits),
                   lambda: self._weighted(labels, logits))

  def _binary(self, labels, logits):
    scores = self._impl.get_logits(logits)  # divided by the temperature

    def block(members):
      """Scores [B, K] of each row's `members` (K = the batch's largest count) and a mask."""
      count = tf.reduce_max(tf.reduce_sum(tf.cast(members, tf.int32), axis=1))
      index = tf.math.top_k(tf.cast(members, tf.float32), k=count, sorted=False).indices
      return (tf.gather(scores, index, batch_dims=1),
              tf.gather(members, index, batch_dims=1))

    relevant, relevant_mask = block(labels > 0)
    other, other_mask = block(tf.equal(labels, 0.0))
    pairs = tf.nn.softplus(other[:, tf.newaxis, :] - relevant[:, :, tf.newaxis])
    valid = relevant_mask[:, :, tf.newaxis] & other_mask[:, tf.newaxis, :]
    return tf.reduce_sum(tf.where(valid, pairs, 0.0), axis=[1, 2])


class ApproxNDCG(TFRankingLoss):
  """-ApproxNDCG: NDCG of sigmoid-smoothed ranks (logits / temperature), TF-Ranking's.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import ApproxNDCG
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 1., 0., 0.]])
  >>> logits = tf.constant([[4., 3., 2., 1.], [4., 3., 2., 1.]])  # gaps of 10 temperatures
  >>> [round(value, 4) for value in ApproxNDCG()(labels, logits).numpy().tolist()]
  [-1.0, -0.6309]

  (The relevant item at rank 1, then at rank 2: NDCG 1/log2(3).)
  """

  name = "approx_ndcg"

  def __init__(self, temperature: float = 0.1):  # TF-Ranking's default
    super().__init__(losses_impl.ApproxNDCGLoss(self.name, temperature=temperature))


class NeuralSort(TFRankingLoss):
  """Cross-entropy between the NeuralSort permutation matrices of labels and logits.

  TF-Ranking's values (`losses_impl.NeuralSortCrossEntropyLoss`, tested equal in
  value and gradient), computed with less: padding (negative labels) is pushed
  out of the softmax on the [B, L] level instead of by masking, gathering and
  sorting [B, L, L] tensors, and no gradient flows through the labels' matrix.
  For binary labels (CF's implicit feedback) that matrix is not built at all: row
  r has one value on the relevant and one on the other items, known in closed
  form, so the cross-entropy is two batched matrix-vector products.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import NeuralSort
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 1., 0., 0.]])
  >>> loss = NeuralSort()(labels, tf.zeros([2, 4]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # equal logits: uniform rows, ln 4
  [1.3863, 1.3863]
  """

  name = "neural_sort"

  def __init__(self, temperature: float = 1.0):
    super().__init__(losses_impl.NeuralSortCrossEntropyLoss(self.name,
                                                            temperature=temperature))

  def per_list(self, labels, logits, seed):
    del seed
    valid = labels >= 0.0
    labels = tf.where(valid, labels, 0.0)
    scores = tf.where(valid, self._impl.get_logits(logits), 0.0)  # divided by the temperature
    num_valid = tf.reduce_sum(tf.cast(valid, tf.float32), axis=1, keepdims=True)  # [B, 1]
    # Row r = 1..n of a list's matrix ranks its n valid items: scaling n + 1 - 2r
    # (TF-Ranking moves the padded rows last and drops them from the loss).
    list_size = tf.cast(tf.shape(labels)[1], tf.float32)
    position = tf.range(1.0, list_size + 1.0)
    scaling = num_valid + 1.0 - 2.0 * position  # [B, L]
    valid_row = position <= num_valid

    def log_numerators(values):
      """(n + 1 - 2r) v_k - sum_j |v_k - v_j| over valid j, [B, L, L]; -1e30 for padded k."""
      # Padded v_j are 0: each adds |v_k| to the sum over all j.
      spread = (tf.reduce_sum(tf.abs(values[:, :, tf.newaxis] - values[:, tf.newaxis, :]), axis=2)
                - (list_size - num_valid) * tf.abs(values))
      spread = tf.where(valid, spread, 1e30)
      return scaling[:, :, tf.newaxis] * values[:, tf.newaxis, :] - spread[:, tf.newaxis, :]

    log_smooth = tf.math.log(_EPSILON + tf.nn.softmax(log_numerators(scores)))

    def binary_cross_entropy():
      relevant = tf.reduce_sum(labels, axis=1, keepdims=True)
      other = num_valid - relevant
      relevant_logit, other_logit = scaling - other, -tf.broadcast_to(relevant, tf.shape(scaling))
      normaliser = tf.reduce_logsumexp(tf.stack([relevant_logit + tf.math.log(relevant),
                                                 other_logit + tf.math.log(other)]), axis=0)
      on_relevant = tf.linalg.matvec(log_smooth, labels)
      on_other = tf.linalg.matvec(log_smooth, tf.cast(valid, tf.float32) - labels)
      return -(tf.exp(relevant_logit - normaliser) * on_relevant
               + tf.exp(other_logit - normaliser) * on_other)

    def graded_cross_entropy():
      true = tf.nn.softmax(log_numerators(labels))
      return -tf.reduce_sum(true * log_smooth, axis=2)

    binary = tf.reduce_all(tf.equal(labels, 0.0) | tf.equal(labels, 1.0))
    cross_entropy = tf.cond(binary, binary_cross_entropy, graded_cross_entropy)
    loss = tf.math.divide_no_nan(
        tf.reduce_sum(tf.where(valid_row, cross_entropy, 0.0), axis=1), num_valid[:, 0])
    return tf.where(tf.reduce_sum(labels, axis=1) > 0.0, loss, 0.0)


class ListMLE(TFRankingLoss):
  """ListMLE; ties between equal labels are broken by a stateless draw from `seed`.

  The list is ordered by label (descending), ties in a uniformly random order,
  and handed to TF-Ranking as strictly decreasing labels in that order (ListMLE
  uses labels only to order the list), so TF-Ranking's own stateful tie
  shuffle has nothing left to shuffle.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import ListMLE
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 1., 0., -1.]])  # -1: padding
  >>> loss = ListMLE()(labels, tf.zeros([2, 4]), seed=tf.constant([1, 2]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # equal logits: ln 4!, ln 3!
  [3.1781, 1.7918]
  """

  name = "listmle"
  stochastic = True

  def __init__(self):
    super().__init__(losses_impl.ListMLELoss(self.name))

  def per_list(self, labels, logits, seed):
    shuffle = tf.argsort(tf.random.stateless_uniform(tf.shape(labels), seed), axis=1)
    by_label = tf.argsort(tf.gather(labels, shuffle, batch_dims=1), axis=1,
                          direction="DESCENDING", stable=True)
    order = tf.gather(shuffle, by_label, batch_dims=1)
    position = tf.argsort(order, axis=1)  # inverse permutation
    list_size = tf.cast(tf.shape(labels)[1], tf.float32)
    strict = tf.where(labels >= 0, list_size - tf.cast(position, tf.float32), -1.0)
    return self._weighted(strict, logits)


class GumbelApproxNDCG(ApproxNDCG):
  """ApproxNDCG of `sample_size` Gumbel-perturbed copies of each list, averaged per list.

  The sampling is TF-Ranking's `GumbelSampler` (log softmax of (logits + g) /
  gumbel_temperature, padding at log 1e-20) with g drawn statelessly from `seed`.
  `list_approx_ndcg` computes the ApproxNDCG of the perturbed lists: by default
  TF-Ranking's ([B * sample_size, L, L], XLA-compatible); the autoencoders pass
  `FullCatalogueApproxNDCG`, which ranks only the relevant items (same values).

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.ranking import GumbelApproxNDCG
  >>> labels = tf.constant([[1., 0., 0., 0.], [0., 1., 0., 0.]])
  >>> logits = tf.constant([[40., 30., 20., 10.], [40., 30., 20., 10.]])  # beyond the noise
  >>> loss = GumbelApproxNDCG()(labels, logits, seed=tf.constant([1, 2]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # as `ApproxNDCG`: 1/log2(3)
  [-1.0, -0.6309]
  """

  name = "gumbel_approx_ndcg"
  stochastic = True

  def __init__(self, temperature: float = 0.1, sample_size: int = 8,
               gumbel_temperature: float = 1.0, list_approx_ndcg=None):
    super().__init__(temperature)
    self.sample_size = int(sample_size)
    self.gumbel_temperature = float(gumbel_temperature)
    self.list_approx_ndcg = list_approx_ndcg or self._weighted

  def per_list(self, labels, logits, seed):
    batch_size, list_size = tf.unstack(tf.shape(labels))
    uniform = tf.random.stateless_uniform([batch_size, self.sample_size, list_size], seed)
    gumbel = -tf.math.log(-tf.math.log(uniform + _EPSILON) + _EPSILON)
    valid = tf.repeat(labels >= 0, self.sample_size, axis=0)
    sampled = tf.reshape(logits[:, tf.newaxis] + gumbel, [-1, list_size])
    sampled = tf.where(valid, sampled / self.gumbel_temperature, tf.math.log(_EPSILON))
    sampled = tf.math.log(tf.nn.softmax(sampled) + _EPSILON)
    losses = self.list_approx_ndcg(tf.repeat(labels, self.sample_size, axis=0), sampled)
    return tf.reduce_mean(tf.reshape(losses, [batch_size, self.sample_size]), axis=1)


LOSSES = {loss.name: loss for loss in (LogLoss, ListMLE, ApproxNDCG, GumbelApproxNDCG,
                                      NeuralSort, Softmax, PairwiseLogistic)}


def get(name: str, **options) -> ListLoss:
  """The loss called `name` (one of `LOSSES`), built with `options`.

  >>> from tfrankcf.losses import ranking
  >>> sorted(ranking.LOSSES)
  ['approx_ndcg', 'gumbel_approx_ndcg', 'listmle', 'logloss', 'neural_sort',
   'pairwise_logistic', 'softmax']
  >>> loss = ranking.get("approx_ndcg", temperature=1.0)
  >>> type(loss).__name__, loss.name
  ('ApproxNDCG', 'approx_ndcg')
  >>> ranking.get("ndcg")
  Traceback (most recent call last):
  tfrankcf.errors.InputError: unknown loss 'ndcg'; valid losses: logloss, listmle, ...
  """
  if name not in LOSSES:
    raise InputError(f"unknown loss '{name}'; valid losses: {', '.join(LOSSES)}")
  return LOSSES[name](**options)
