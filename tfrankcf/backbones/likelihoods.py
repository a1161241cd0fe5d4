"""Reconstruction terms of the autoencoder actors: (labels, logits) -> [B].

Every term takes the user's (dense, binary) target row and the decoder's
logits and returns one loss per user. The actor's training objective is the
term plus its regulariser (KL or l2), and RaCT's critic reads the term as its
"NLL" feature, so any term registered here, including a ranking loss, can
drive both.
"""

from typing import Callable

import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.losses.lambdarank import lambdarank_loss
from tfrankcf.losses.warp import warp_loss

Reconstruction = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def multinomial_nll(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """-sum_m x_m log softmax(logits)_m (Mult-VAE / Mult-DAE)."""
  return -tf.reduce_sum(labels * tf.nn.log_softmax(logits, axis=-1), axis=-1)


def gaussian_nll(labels: tf.Tensor, logits: tf.Tensor,
                 positive_weight: float = 2.0) -> tf.Tensor:
  """Confidence-weighted squared error (Gaussian likelihood, as WMF).

  sum_m c_m (x_m - f_m)^2 with c = 1 for unobserved and `positive_weight` for
  observed items (RaCT's MF and Gaussian-VAE actors use 2).
  """
  confidence = 1.0 + (positive_weight - 1.0) * labels
  return tf.reduce_sum(confidence * tf.square(labels - logits), axis=-1)


RECONSTRUCTIONS: dict[str, Reconstruction] = {
    "multinomial": multinomial_nll,
    "gaussian": gaussian_nll,
    "warp": warp_loss,
    "lambdarank": lambdarank_loss,
}


def get_reconstruction(name: str) -> Reconstruction:
  """The registered term called `name`; InputError for an unknown name."""
  if name not in RECONSTRUCTIONS:
    raise InputError(f"unknown reconstruction loss '{name}' "
                     f"(choose from {', '.join(sorted(RECONSTRUCTIONS))})")
  return RECONSTRUCTIONS[name]
