"""tf.distribute for every binary: the strategy of `--strategy`, who writes what, and input.

* `strategy_for(name)`: "default" (one device), "mirrored" (`MirroredStrategy`
  over the local GPUs or, without GPUs, every logical CPU device; set
  `TFRANKCF_LOGICAL_CPUS=N` to split the CPU into N devices) or
  "multi_worker" (`MultiWorkerMirroredStrategy` over the cluster of TF_CONFIG).
  Call it before anything else runs in TensorFlow: both the CPU split and
  the collective ops of the multi-worker strategy must be configured before
  the runtime starts.
* `is_chief(strategy)` and `worker_dir(strategy, output_dir)`: every worker
  trains and checkpoints, but only the chief writes into the output directory
  and results.json; another worker writes to its own
  `workertemp_<type>_<index>` sub-directory (TF's convention: workers writing
  one file collide), where a restarted worker also finds its checkpoints.
* `distribute_dataset(strategy, dataset)`: every global batch of the trainer's
  dataset is cut into one contiguous piece per replica, in replica order
  across workers, so N replicas see exactly the users of a single device's
  batch; a last batch smaller than N leaves some replicas an empty piece.
"""

import json
import logging
import os

import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.methods.base import is_distributed

STRATEGIES = ("default", "mirrored", "multi_worker")
LOGICAL_CPUS_ENV = "TFRANKCF_LOGICAL_CPUS"


def _split_cpu(count: int) -> None:
  """Splits the physical CPU into `count` logical devices (before TF starts)."""
  cpus = tf.config.list_physical_devices("CPU")
  if len(tf.config.get_logical_device_configuration(cpus[0]) or []) == count:
    return  # already split (a second run in this process)
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
  except RuntimeError as error:
    raise InputError(f"{LOGICAL_CPUS_ENV}={count}: TensorFlow had already started; split the "
                     "CPU before any TensorFlow op runs") from error


def _check_tf_config() -> dict:
  """The parsed TF_CONFIG of a multi-worker run, or an InputError saying what is wrong."""
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    raise InputError("--strategy=multi_worker needs TF_CONFIG, e.g. "
                     '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')
  try:
    tf_config = json.loads(raw)
  except json.JSONDecodeError as error:
    raise InputError(f"TF_CONFIG is not JSON: {error}") from error
  cluster = tf_config.get("cluster") if isinstance(tf_config, dict) else None
  task = tf_config.get("task") if isinstance(tf_config, dict) else None
  if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
    raise InputError('TF_CONFIG needs a "cluster" of address lists and a "task" '
                     f"with type and index; got {raw}")
  task_type, index = task.get("type"), task.get("index")
  if task_type not in cluster or not isinstance(index, int) or not (
      0 <= index < len(cluster[task_type])):
    raise InputError(f"TF_CONFIG task {task} is not in its cluster {cluster}")
  return tf_config


def _create(name: str) -> tf.distribute.Strategy:
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    if tf.config.list_physical_devices("GPU"):
      return tf.distribute.MirroredStrategy()
    count = os.environ.get(LOGICAL_CPUS_ENV)
    if count:
      if not count.isdigit() or int(count) < 1:
        raise InputError(f"{LOGICAL_CPUS_ENV} must be a positive integer; got '{count}'")
      _split_cpu(int(count))
    return tf.distribute.MirroredStrategy(
        [device.name for device in tf.config.list_logical_devices("CPU")])
  if name == "multi_worker":
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise InputError(f"unknown strategy '{name}'; valid: {', '.join(STRATEGIES)}")


def strategy_for(name: str) -> tf.distribute.Strategy:
  """The `tf.distribute.Strategy` of `--strategy=name`."""
  strategy = _create(name)
  if name != "default":
    logging.info("--strategy=%s: %d replicas in sync (%s)", name,
                 strategy.num_replicas_in_sync, "chief" if is_chief(strategy) else "worker")
  return strategy


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes the run's results (always, but for a non-chief worker)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_dir(strategy: tf.distribute.Strategy, output_dir: str) -> str:
  """Where this process checkpoints: `output_dir` for the chief, else its own sub-directory."""
  if is_chief(strategy):
    return output_dir
  resolver = strategy.cluster_resolver
  return os.path.join(output_dir, f"workertemp_{resolver.task_type}_{resolver.task_id}")


def _piece(batch, bounds, replica):
  return tf.nest.map_structure(lambda t: t[bounds[replica]:bounds[replica + 1]], batch)


def num_batches(dataset: tf.data.Dataset) -> int:
  """Batches in `dataset`: its cardinality, or counted when unknown."""
  count = int(dataset.cardinality())
  if count == tf.data.INFINITE_CARDINALITY:
    raise InputError("an epoch's training dataset must be finite under tf.distribute")
  if count < 0:
    count = int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
  return count


def distribute_dataset(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset) -> tuple:
  """(per-replica input of `strategy`, steps) for `dataset` of global batches (module doc).

  With the default strategy: (`dataset` unchanged, None: Keras counts).
  """
  replicas = strategy.num_replicas_in_sync
  if not is_distributed(strategy):
    return dataset, None

  def pieces_for(context: tf.distribute.InputContext) -> tf.data.Dataset:
    local = replicas // context.num_input_pipelines
    first = context.input_pipeline_id * local

    def pieces(batch):
      rows = tf.shape(tf.nest.flatten(batch)[0], out_type=tf.int64)[0]
      bounds = tf.range(replicas + 1, dtype=tf.int64) * rows // replicas
      return tf.data.Dataset.range(first, first + local).map(
          lambda replica: _piece(batch, bounds, replica))

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF)  # the pieces are the shards
    return dataset.flat_map(pieces).with_options(options)

  return strategy.distribute_datasets_from_function(pieces_for), num_batches(dataset)
