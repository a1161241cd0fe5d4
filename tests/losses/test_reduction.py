"""Global-batch reductions: one replica is the plain mean; two uneven replicas sum to it."""

import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from tfrankcf.losses.pairwise import reduce_pairwise_loss
from tfrankcf.losses.reduction import average_loss, global_batch_size


def test_single_replica_is_the_batch_mean():
  losses = tf.constant([1.0, 2.0, 6.0])
  np.testing.assert_allclose(average_loss(losses).numpy(), 3.0, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(reduce_pairwise_loss(losses, "mean").numpy(), 3.0, rtol=1e-6,
                             atol=1e-6)
  np.testing.assert_allclose(reduce_pairwise_loss(losses, "sum").numpy(), 9.0, rtol=1e-6,
                             atol=1e-6)
  assert int(global_batch_size(losses)) == 3


_TWO_REPLICAS = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfrankcf.losses.pairwise import reduce_pairwise_loss
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    pieces = [tf.constant([1.0]), tf.constant([2.0, 6.0])]  # an uneven last batch
    def step():
      replica = tf.distribute.get_replica_context().replica_id_in_sync_group
      losses = tf.gather(tf.ragged.stack(pieces), replica)
      return reduce_pairwise_loss(losses, "mean"), reduce_pairwise_loss(losses, "sum")
    mean, total = strategy.run(tf.function(step))
    print(float(strategy.reduce("SUM", mean, axis=None)), float(strategy.reduce("SUM", total, axis=None)))
""")


def test_uneven_replica_pieces_add_up_to_the_global_mean():
  out = subprocess.run([sys.executable, "-c", _TWO_REPLICAS], capture_output=True, text=True,
                       check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
  mean, total = map(float, out.stdout.split())
  # local-batch means would give 1/2 + 4/2 = 2.5; the global mean is 9 / 3
  np.testing.assert_allclose([mean, total], [3.0, 9.0], rtol=1e-6, atol=1e-6)
