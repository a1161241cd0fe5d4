"""Batch reductions that stay right under tf.distribute.

Every replica sees a piece of the global batch and the optimisers SUM the
replicas' gradients, so a loss must be each replica's share of the global
batch's loss: its sum divided by the *global* batch size. That size is summed
over the replicas here rather than assumed to be replicas x local batch: the
pieces of a last, partial batch are uneven (one may be empty). With one
replica these are the plain single-device reductions.
"""

import tensorflow as tf


def num_replicas() -> int:
  """Replicas in sync in the current replica context (1 outside any strategy).

  >>> from tfrankcf.losses.reduction import num_replicas
  >>> num_replicas()
  1
  """
  context = tf.distribute.get_replica_context()
  return 1 if context is None else context.num_replicas_in_sync


def global_batch_size(values: tf.Tensor) -> tf.Tensor:
  """Rows of the global batch: `values` [B, ...] summed over the replicas.

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.reduction import global_batch_size
  >>> int(global_batch_size(tf.zeros([3, 4])))  # one replica: its own rows
  3
  """
  rows = tf.shape(values)[0]
  if num_replicas() == 1:
    return rows
  context = tf.distribute.get_replica_context()
  return tf.cast(context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(rows, tf.float32)),
                 tf.int32)


def average_loss(example_losses: tf.Tensor) -> tf.Tensor:
  """This replica's share of the global-batch mean of `example_losses` [B].

  >>> import tensorflow as tf
  >>> from tfrankcf.losses.reduction import average_loss
  >>> float(average_loss(tf.constant([1.0, 2.0, 6.0])))
  3.0
  """
  if num_replicas() == 1:
    return tf.nn.compute_average_loss(example_losses)
  return tf.nn.compute_average_loss(example_losses,
                                    global_batch_size=global_batch_size(example_losses))
