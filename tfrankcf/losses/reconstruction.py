"""Reconstruction terms of the autoencoder actors: (labels, logits) -> [B].

Every term takes the user's (dense, binary) target row and the decoder's
logits and returns one loss per user. The actor's training objective is the
term plus its regulariser (KL or l2), and RaCT's critic reads the term as its
"NLL" feature, so any term registered here, including a ranking loss, can
drive both.

Besides the likelihoods, every TF-Ranking loss of `tfrankcf.losses.ranking`
but log loss is a term (`LIST_LOSSES`): on a sampled candidate list per user
(`candidates="sampled"`, `SampledListLoss`) or, for ApproxNDCG only, on the
whole catalogue row (`candidates="all"`, `FullCatalogueApproxNDCG`). A
stochastic term (`term.stochastic`, the sampled lists) takes a third argument,
a stateless seed [2]: `term(labels, logits, seed)`.
"""

from typing import Callable

import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses import ranking
from tfrankcf.losses.full_catalogue import FullCatalogueApproxNDCG
from tfrankcf.losses.lambdarank import lambdarank_loss
from tfrankcf.losses.sampled_lists import SampledListLoss
from tfrankcf.losses.warp import warp_loss

Reconstruction = Callable[..., tf.Tensor]


def multinomial_nll(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """-sum_m x_m log softmax(logits)_m (Mult-VAE / Mult-DAE).

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.reconstruction import multinomial_nll
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 1., 0., 0.]])
  >>> loss = multinomial_nll(labels, tf.zeros([2, 4]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # ln 4 per item of the row
  [1.3863, 2.7726]
  """
  return -tf.reduce_sum(labels * tf.nn.log_softmax(logits, axis=-1), axis=-1)


def gaussian_nll(labels: tf.Tensor, logits: tf.Tensor,
                 positive_weight: float = 2.0) -> tf.Tensor:
  """Confidence-weighted squared error (Gaussian likelihood, as WMF).

  sum_m c_m (x_m - f_m)^2 with c = 1 for unobserved and `positive_weight` for
  observed items (RaCT's MF and Gaussian-VAE actors use 2).

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.reconstruction import gaussian_nll
  >>> labels = tf.constant([[1., 0., 0., 0.], [1., 0., 0., 0.]])
  >>> loss = gaussian_nll(labels, tf.constant([[0., 0., 0., 0.], [0.5, 0.5, 0.5, 0.5]]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # 2 * 1; 2 * 0.25 + 3 * 0.25
  [2.0, 1.25]
  """
  confidence = 1.0 + (positive_weight - 1.0) * labels
  return tf.reduce_sum(confidence * tf.square(labels - logits), axis=-1)


RECONSTRUCTIONS: dict[str, Reconstruction] = {
    "multinomial": multinomial_nll,
    "gaussian": gaussian_nll,
    "warp": warp_loss,
    "lambdarank": lambdarank_loss,
}


# TF-Ranking losses usable as a term (log loss scores items independently:
# it is no list loss, and the multinomial is the autoencoders' own pointwise term).
LIST_LOSSES = tuple(name for name in ranking.LOSSES if name != "logloss")
CANDIDATES = ("sampled", "all")
FULL_CATALOGUE = ("approx_ndcg",)  # losses with a candidates="all" form


def get_reconstruction(name: str, candidates: str = "sampled", list_size: int = 100,
                       memory_budget_mb: float = 1024.0) -> Reconstruction:
  """The term called `name`: a likelihood of `RECONSTRUCTIONS` or a `LIST_LOSSES` loss.

  Args:
    name: a key of `RECONSTRUCTIONS` or a name in `LIST_LOSSES`.
    candidates: "sampled" (a list loss on `list_size` sampled items per user)
      or "all" (the whole row; only the losses in `FULL_CATALOGUE`).
    list_size: items per sampled list.
    memory_budget_mb: memory bound of the full-catalogue ApproxNDCG's chunks.

  Raises:
    InputError: an unknown name or candidates, or candidates="all" with a loss
      that has no full-catalogue form.

  Example:
    >>> from tfrankcf.losses.reconstruction import RECONSTRUCTIONS, get_reconstruction
    >>> sorted(RECONSTRUCTIONS)
    ['gaussian', 'lambdarank', 'multinomial', 'warp']
    >>> get_reconstruction("multinomial") is RECONSTRUCTIONS["multinomial"]
    True
    >>> term = get_reconstruction("listmle", list_size=10)  # ListMLE on 10 sampled items
    >>> type(term).__name__, term.stochastic
    ('SampledListLoss', True)
    >>> get_reconstruction("listmle", candidates="all")
    Traceback (most recent call last):
    tfrankcf.errors.InputError: candidates=all supports only approx_ndcg, not 'listmle'
  """
  if name not in RECONSTRUCTIONS and name not in LIST_LOSSES:
    raise InputError(f"unknown reconstruction loss '{name}' (choose from "
                     f"{', '.join(sorted(RECONSTRUCTIONS) + list(LIST_LOSSES))})")
  if candidates not in CANDIDATES:
    raise InputError(f"unknown candidates '{candidates}' (choose from {', '.join(CANDIDATES)})")
  if candidates == "all":
    if name not in FULL_CATALOGUE:
      raise InputError(f"candidates=all supports only {', '.join(FULL_CATALOGUE)}, not "
                       f"'{name}'")
    return FullCatalogueApproxNDCG(memory_budget_mb=memory_budget_mb)
  if name in RECONSTRUCTIONS:
    return RECONSTRUCTIONS[name]
  return SampledListLoss(_list_loss(name, memory_budget_mb), list_size)


def _list_loss(name: str, memory_budget_mb: float) -> ranking.ListLoss:
  """The loss on sampled lists; ApproxNDCG's ranks (also in each Gumbel sample) only
  for the relevant items: `FullCatalogueApproxNDCG` on rows of L items costs
  B x P x L instead of TF-Ranking's B x L x L, with the same values."""
  if name == "approx_ndcg":
    return FullCatalogueApproxNDCG(memory_budget_mb=memory_budget_mb)
  if name == "gumbel_approx_ndcg":  # both at TF-Ranking's temperature 0.1 (tested equal)
    return ranking.get(name, list_approx_ndcg=FullCatalogueApproxNDCG(
        memory_budget_mb=memory_budget_mb))
  return ranking.get(name)
