"""BPR, the pairwise logistic loss of (u, i, j) triplets, and its batch reduction.

`bpr_loss` is per example: softplus(-x_uij) = -ln sigma(x_uij), with the margin
clipped to [-80, 1e8] as in the APR code (a margin below -80 gives a constant
loss of 80 and no gradient, so one wild triplet cannot blow up a step).

`reduce_pairwise_loss` turns per-example losses into the loss an optimiser
minimises:

* "sum" (the APR/BPR code's choice, the default here): the SUM over the batch.
  Adagrad's step size then depends on the batch size, which is why the
  reduction matters. Under `tf.distribute` each replica returns the sum of its
  own examples; the cross-replica gradient all-reduce (a SUM) then yields the
  gradient of the sum over the global batch, with no rescaling.
* "mean": the mean over the global batch (`reduction.average_loss`: each
  replica's sum divided by the global batch size, uneven last pieces too).
"""

import tensorflow as tf

from tfrankcf.losses.reduction import average_loss

MARGIN_CLIP = (-80.0, 1e8)
REDUCTIONS = ("sum", "mean")


def bpr_loss(margins: tf.Tensor) -> tf.Tensor:
  """Per-example BPR losses [B] of margins x_uij = y_ui - y_uj [B].

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.pairwise import bpr_loss
  >>> loss = bpr_loss(tf.constant([0.0, 1000.0, -1000.0]))
  >>> [round(value, 4) for value in loss.numpy().tolist()]  # ln 2; ~0; clipped at -80
  [0.6931, 0.0, 80.0]
  """
  return tf.nn.softplus(-tf.clip_by_value(margins, *MARGIN_CLIP))


def reduce_pairwise_loss(example_losses: tf.Tensor, reduction: str = "sum") -> tf.Tensor:
  """This replica's share of the global-batch loss (see the module docstring).

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.pairwise import reduce_pairwise_loss
  >>> losses = tf.constant([1.0, 2.0, 3.0])
  >>> float(reduce_pairwise_loss(losses)), float(reduce_pairwise_loss(losses, "mean"))
  (6.0, 2.0)
  """
  if reduction == "sum":
    return tf.reduce_sum(example_losses)
  if reduction == "mean":
    return average_loss(example_losses)
  raise ValueError(f"unknown loss reduction '{reduction}', expected one of {REDUCTIONS}")
