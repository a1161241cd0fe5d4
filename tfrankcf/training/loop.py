"""The fit loop shared by every trainable method.

`train_and_evaluate` drives `model.fit` one epoch at a time and around it:

* evaluates on the validation users every `eval_every` epochs and keeps the
  weights of the best validation epoch (never the test users);
* checkpoints model, optimisers and epoch after every epoch and resumes from
  the latest checkpoint when restarted with the same output directory (the
  input order is a function of (seed, epoch), so a resumed run repeats the
  interrupted epoch exactly); an epoch's checkpoint is written after its
  history, best weights and milestones, so a run killed at any moment resumes
  from a finished epoch; the command line's learning rates win over the
  checkpoint's;
* stops with `TrainingDiverged` on a NaN or infinite loss (or weights),
  keeping the last good checkpoint;
* writes TensorBoard summaries and one log line per epoch (a staged method's
  line names its stage and shows only the trackers that stage updates: the
  model's `training_stage(epoch) -> (name, tracker names)`), and during a
  long epoch a progress line every `progress_interval` seconds (steps done of
  the epoch's, examples per second);
* turns Ctrl-C into `tfrankcf.errors.Interrupted`, which names the last
  checkpointed epoch (the same command resumes from it);
* finally restores the best weights and evaluates the test users.
"""

import functools
import inspect
import json
import logging
import math
import os
import shutil
import time
from typing import Callable

import numpy as np
import tensorflow as tf

from tfrankcf.errors import Interrupted
from tfrankcf.metrics import evaluate
from tfrankcf.metrics.significance import paired_test
from tfrankcf.protocols.split import Split
from tfrankcf.protocols.reporting import Reporting
from tfrankcf.training.results import write_json


class TrainingDiverged(RuntimeError):
  """A training loss became NaN or infinite."""


class _BestTracker(tf.Module):
  """Checkpointed best-validation state, so a resumed run keeps it."""

  def __init__(self):
    super().__init__()
    self.value = tf.Variable(-np.inf, dtype=tf.float64, trainable=False)
    self.epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)


PROGRESS_INTERVAL = 10.0  # seconds between the progress lines of a long epoch


def _log_line(epoch: int, epochs: int, logs: dict, valid: dict | None,
              selection: str, best: float, best_epoch: int, seconds: float,
              stage: str | None = None) -> str:
  parts = [f"epoch {epoch + 1}/{epochs}" + (f" ({stage})" if stage else "")]
  parts += [f"{k} {v:.4f}" for k, v in logs.items()]
  if valid is not None:
    parts.append(f"valid {selection} {valid[selection]:.4f} "
                 f"(best {best:.4f} @ {best_epoch + 1})")
  parts.append(f"{seconds:.1f}s")
  return "  ".join(parts)


def _stage(model, epoch: int) -> tuple[str | None, tuple | None]:
  """(name, tracker names) of a staged model's `epoch`; (None, None): one stage, every tracker."""
  training_stage = getattr(model, "training_stage", None)
  return (None, None) if training_stage is None else training_stage(epoch)


def _checkpointed_epoch(output_dir: str) -> int:
  """The epoch of the latest checkpoint in `output_dir` (0: none), which a rerun resumes after."""
  state = tf.train.get_checkpoint_state(os.path.join(output_dir, "checkpoints"))
  try:
    return int(state.model_checkpoint_path.rsplit("-", 1)[1])
  except (AttributeError, IndexError, ValueError):
    return 0


def _interruptible(train):
  """`train` with Ctrl-C raised as `Interrupted`, naming the epoch a rerun resumes after.

  Nothing is written on the way out: every file of the loop is already atomic and
  the checkpoint, written last, marks an epoch done (as for a SIGKILL).
  """
  signature = inspect.signature(train)

  @functools.wraps(train)
  def guarded(*args, **kwargs):
    try:
      return train(*args, **kwargs)
    except Interrupted:
      raise
    except KeyboardInterrupt:
      output_dir = signature.bind(*args, **kwargs).arguments["output_dir"]
      raise Interrupted(_checkpointed_epoch(output_dir)) from None

  return guarded


class EpochProgress(tf.keras.callbacks.Callback):
  """A line every `interval` seconds of a long epoch: steps done of the total, examples/s.

  Short epochs stay silent (their one epoch line suffices). `clock` is injectable so
  that tests need not wait.
  """

  def __init__(self, label: str, steps: int | None = None,
               examples_per_epoch: int | None = None, interval: float = PROGRESS_INTERVAL,
               clock: Callable[[], float] = time.monotonic,
               log: Callable[[str], None] = logging.info):
    super().__init__()
    self._supports_tf_logs = True  # reads no logs: Keras need not fetch them every step
    self.label, self.steps, self.examples_per_epoch = label, steps, examples_per_epoch
    self.interval, self.clock, self.log = interval, clock, log
    self.start = self.last = None

  def on_epoch_begin(self, epoch, logs=None):
    self.start = self.last = self.clock()

  def on_train_batch_end(self, batch, logs=None):
    now = self.clock()
    if self.start is None:
      self.start = self.last = now
    if now - self.last < self.interval:
      return
    self.last = now
    self.log(self.line(batch + 1, now - self.start))  # `batch`: the last step done, from 0

  def line(self, done: int, elapsed: float) -> str:
    """'<label>: step <done>/<total> (<%>), <rate> examples/s, <elapsed> s, eta <s> s'."""
    total = self.steps or getattr(self, "params", {}).get("steps")  # Keras's, when it knows
    parts = [f"{self.label}: step {done}" + (f"/{total} ({100 * done / total:.0f}%)"
                                             if total else "")]
    rate = done / max(elapsed, 1e-9)
    if self.examples_per_epoch and total:
      parts.append(f"{rate * self.examples_per_epoch / total:.0f} examples/s")
    else:
      parts.append(f"{rate:.1f} steps/s")
    parts.append(f"{elapsed:.0f} s")
    if total:
      parts.append(f"eta {max(total - done, 0) / rate:.0f} s")
    return ", ".join(parts)


def _known_steps(dataset) -> int | None:
  """Batches of `dataset` when its cardinality is known."""
  count = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
  return count if count >= 0 else None


def _copy_checkpoint(source: str, target: str) -> None:
  """Copies the files of checkpoint prefix `source` to prefix `target`, each atomically."""
  os.makedirs(os.path.dirname(target), exist_ok=True)
  for path in tf.io.gfile.glob(source + ".index") + tf.io.gfile.glob(source + ".data-*"):
    destination = target + path[len(source):]
    shutil.copyfile(path, destination + ".tmp")
    os.replace(destination + ".tmp", destination)


def _all_finite(variables) -> bool:
  return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables
             if v.dtype.is_floating)


_OPTIMIZERS = (tf.keras.optimizers.Optimizer, tf.keras.optimizers.legacy.Optimizer)


def _learning_rates(root) -> dict:
  """{variable ref: value} of every optimiser's learning rate variable under `root`."""
  rates = {}
  for trackable in tf.train.TrackableView(root).descendants():
    rate = getattr(trackable, "learning_rate", None)
    if isinstance(trackable, _OPTIMIZERS) and isinstance(rate, tf.Variable):
      rates[rate.ref()] = rate.numpy()
  return rates


def _paired_tests(reference, other) -> dict:
  """Per test metric, the paired test over users of `other` minus `reference` (EvalResults)."""
  return {key: paired_test(reference.per_user[key], other.per_user[key])
          for key in other.per_user}


@_interruptible
def train_and_evaluate(
    model: tf.keras.Model,
    dataset_fn: Callable[[int], tf.data.Dataset],
    split: Split,
    reporting: Reporting,
    output_dir: str,
    epochs: int,
    eval_every: int = 1,
    eval_batch_size: int = 1000,
    examples_per_epoch: int | None = None,
    extra_checkpoint_objects: dict | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    milestones: dict | None = None,
    diagnostics: Callable[[], dict] | None = None,
    restore_best_at: int | None = None,
    early_stopping_patience: int = 0,
    distribute: Callable[[tf.data.Dataset], tuple] | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
) -> dict:
  """Trains `model` for `epochs` epochs and returns the run's results.

  Args:
    model: a compiled `tfrankcf.methods.base.Model` (its optimisers must be
      attributes of the model or set by `compile`, so they are checkpointed).
      If it has an `epoch` variable, it is assigned before every epoch, and
      its `prepare_epoch(epoch, dataset)` (if any) runs before the epoch trains.
    dataset_fn: epoch -> that epoch's `tf.data.Dataset` of training batches;
      deterministic in (run seed, epoch).
    split: the run's split; validation users choose the epoch.
    reporting: which metrics to compute and which one selects the epoch.
    output_dir: checkpoints/, best/ and tensorboard/ go under it.
    examples_per_epoch: for `timing.examples_per_second`.
    extra_checkpoint_objects: more trackables to checkpoint (e.g. samplers).
    on_epoch_end: called with (epoch, history entry) after each epoch.
    milestones: {name: epochs}: after that many epochs, keep the best model
      so far (e.g. RaCT's pre-trained actor after stage 1). It is evaluated at
      the end like the final model, and the final model's per-user test
      metrics are compared with it by a paired test.
    diagnostics: called after each validation; its dict of numbers goes into
      the epoch's history entry ("diagnostics") and TensorBoard (e.g. RaCT's
      critic correlation, which needs the critic of that epoch).
    restore_best_at: before this epoch trains, the model (with its
      optimisers and counters) goes back to the best validation epoch so far:
      RaCT's code starts the critic stages from the best pre-trained actor.
    early_stopping_patience: if > 0, training ends once that many
      validations in a row have not improved the selection metric, but never
      before the last milestone or `restore_best_at` (a staged method's stages
      all run). A resumed run stops where the uninterrupted one would.
    distribute: under tf.distribute, turns an epoch's dataset of global
      batches into (the strategy's per-replica input, steps of the epoch)
      (`tfrankcf.training.distribution.distribute_dataset`); the model, built
      in the strategy's scope, trains on that.
    progress_interval: seconds between the progress lines of a long epoch.

  Returns:
    dict with `metrics` ({"valid": ..., "test": ...} at the best epoch),
    `history`, `timing`, `best_epoch`, `per_user` ({"valid", "test"} and
    "<milestone>.valid", "<milestone>.test" evaluation results) and, with
    milestones, `milestones` ({name: {"epochs", "best_epoch", "metrics",
    "paired_test"}}; paired_test: final minus milestone, per test metric) and
    `last_epoch` ({"epoch", "metrics", "paired_test": {milestone: last epoch's
    model minus milestone}}; per_user "last_epoch.valid", "last_epoch.test"):
    the model as the last stage left it, whichever epoch validation selected.
  """
  best = _BestTracker()
  epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
  objects = dict(model=model, best=best, epoch=epoch_counter)
  if model.optimizer is not None:
    objects["optimizer"] = model.optimizer
  objects.update(extra_checkpoint_objects or {})
  checkpoint = tf.train.Checkpoint(**objects)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(output_dir, "checkpoints"), max_to_keep=2)
  best_checkpoint = tf.train.Checkpoint(model=model)
  best_path = os.path.join(output_dir, "best", "weights")

  history: list = []
  history_path = os.path.join(output_dir, "checkpoints", "history.json")
  milestones = {name: at for name, at in (milestones or {}).items() if 0 < at < epochs}
  # Early stopping may end the run only after the last stage boundary.
  earliest_stop = max([0, restore_best_at or 0, *milestones.values()])
  stopped_early = None

  def milestone_path(name):
    return os.path.join(output_dir, "milestones", name, "weights")

  def keep_milestone(name):
    """Copies the best model so far (before any validation: the current one) to the milestone."""
    if int(best.epoch.numpy()) >= 0:
      _copy_checkpoint(best_path, milestone_path(name))
    else:
      best_checkpoint.write(milestone_path(name))
    write_json(milestone_path(name) + ".json", {"best_epoch": int(best.epoch.numpy()) + 1})

  learning_rates = _learning_rates(checkpoint)

  def keep_learning_rates():
    """Re-assigns the learning rates the model was built with after a restore."""
    # The command line's learning rates win over a checkpoint's (the same for an identical
    # command), so a diverged run can resume from its last good checkpoint with a lower one.
    for rate, value in learning_rates.items():
      if rate.deref().numpy() != value:
        logging.info("Learning rate %s: %g (checkpoint %g)", rate.deref().name, value,
                     rate.deref().numpy())
        rate.deref().assign(value)

  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint)
    keep_learning_rates()
    if os.path.exists(history_path):
      with open(history_path) as f:
        history = json.load(f)
    logging.info("Resumed from %s at epoch %d", manager.latest_checkpoint,
                 int(epoch_counter.numpy()))
  start_epoch = int(epoch_counter.numpy())
  # A run killed between writing an epoch's history and its checkpoint repeats that epoch.
  history = history[:start_epoch]

  def patience_exhausted(epoch):
    """Whether training stops after `epoch` (0-based, just validated)."""
    return (early_stopping_patience > 0 and epoch + 1 > earliest_stop
            and epoch - int(best.epoch.numpy()) >= early_stopping_patience * eval_every)

  if history and "valid" in history[-1] and patience_exhausted(start_epoch - 1):
    stopped_early, start_epoch = start_epoch, epochs  # killed after stopping: nothing to train
  writer = tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard"))
  train_seconds = sum(entry.get("train_seconds", 0.0) for entry in history)

  for epoch in range(start_epoch, epochs):
    start = time.perf_counter()
    if epoch == restore_best_at and int(best.epoch.numpy()) >= 0:
      best_checkpoint.read(best_path).expect_partial()
      keep_learning_rates()
      logging.info("Continuing from the best epoch so far (%d)", int(best.epoch.numpy()) + 1)
    if hasattr(model, "epoch") and isinstance(model.epoch, tf.Variable):
      model.epoch.assign(epoch)
    dataset = dataset_fn(epoch)
    if hasattr(model, "prepare_epoch"):
      model.prepare_epoch(epoch, dataset)
    inputs, steps = (dataset, None) if distribute is None else distribute(dataset)
    stage, trackers = _stage(model, epoch)
    progress = EpochProgress(f"epoch {epoch + 1}/{epochs}", steps or _known_steps(dataset),
                             examples_per_epoch, interval=progress_interval)
    fit = model.fit(inputs, steps_per_epoch=steps, epochs=epoch + 1, initial_epoch=epoch,
                    verbose=0, callbacks=[progress])
    seconds = time.perf_counter() - start
    train_seconds += seconds
    every_log = {k: float(v[-1]) for k, v in fit.history.items()}
    # The trackers of a stage that does not update them read 0: they are left out.
    logs = {k: v for k, v in every_log.items() if trackers is None or k in trackers}
    bad = [f"{k} is {v}" for k, v in every_log.items() if not math.isfinite(v)]
    if not bad and not _all_finite(model.trainable_variables):
      bad = ["the weights are not finite"]  # the last update overflowed
    if bad:
      kept = (f"the last good checkpoint (epoch {epoch}) is in "
              f"{os.path.join(output_dir, 'checkpoints')}" if manager.latest_checkpoint
              else "no checkpoint was written")
      raise TrainingDiverged(f"epoch {epoch + 1}: {', '.join(bad)}; stopped, {kept}")
    entry = {"epoch": epoch + 1, "train_seconds": seconds, **logs}
    if stage is not None:
      entry["stage"] = stage
    valid = None
    if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
      result = evaluate(model, split.valid, ks=reporting.ks,
                        metric_names=reporting.names, batch_size=eval_batch_size)
      valid = result.means
      entry["valid"] = valid
      if diagnostics is not None:
        entry["diagnostics"] = diagnostics()
      if valid[reporting.selection] > best.value.numpy():
        best.value.assign(valid[reporting.selection])
        best.epoch.assign(epoch)
        best_checkpoint.write(best_path)
    with writer.as_default(step=epoch + 1):
      for key, value in logs.items():
        tf.summary.scalar(f"train/{key}", value)
      for key, value in (valid or {}).items():
        tf.summary.scalar(f"valid/{key}", value)
      for key, value in entry.get("diagnostics", {}).items():
        tf.summary.scalar(f"diagnostics/{key}", value)
    history.append(entry)
    logging.info(_log_line(epoch, epochs, logs, valid, reporting.selection,
                           float(best.value.numpy()), int(best.epoch.numpy()),
                           seconds, stage))
    # Everything else of the epoch is written before its checkpoint, which marks it done: a
    # run killed in between repeats the epoch and rewrites the same files.
    write_json(history_path, history)
    for name, at in milestones.items():
      if epoch + 1 == at:
        keep_milestone(name)
    epoch_counter.assign(epoch + 1)
    manager.save(checkpoint_number=epoch + 1)
    if on_epoch_end is not None:
      on_epoch_end(epoch, entry)
    if valid is not None and patience_exhausted(epoch):
      stopped_early = epoch + 1
      logging.info("Early stopping after epoch %d: no better validation %s in %d evaluations "
                   "(best at epoch %d)", epoch + 1, reporting.selection,
                   early_stopping_patience, int(best.epoch.numpy()) + 1)
      break
  writer.flush()

  def evaluate_both():
    return tuple(evaluate(model, eval_set, ks=reporting.ks, metric_names=reporting.names,
                          batch_size=eval_batch_size)
                 for eval_set in (split.valid, split.test))

  milestone_results, per_user, last_epoch = {}, {}, None
  if milestones:
    # A staged method's selection may fall in an early stage (CF-SFL's loop, say, never beating
    # its pre-trained recommender); how its last stage left the model is reported too.
    valid_last, test_last = evaluate_both()
    per_user["last_epoch.valid"], per_user["last_epoch.test"] = valid_last, test_last
    last_epoch = {"epoch": int(epoch_counter.numpy()),
                  "metrics": {"valid": valid_last.means, "test": test_last.means},
                  "paired_test": {}}
  for name, at in milestones.items():
    if not os.path.exists(milestone_path(name) + ".json"):
      continue
    best_checkpoint.read(milestone_path(name)).expect_partial()
    with open(milestone_path(name) + ".json") as f:
      kept = json.load(f)
    valid_kept, test_kept = evaluate_both()
    per_user[f"{name}.valid"], per_user[f"{name}.test"] = valid_kept, test_kept
    milestone_results[name] = {"epochs": at, "best_epoch": kept["best_epoch"],
                               "metrics": {"valid": valid_kept.means,
                                           "test": test_kept.means}}
  if int(best.epoch.numpy()) >= 0:
    best_checkpoint.read(best_path).expect_partial()
    keep_learning_rates()
  valid_result, test_result = evaluate_both()
  per_user.update(valid=valid_result, test=test_result)
  for name, result in milestone_results.items():
    kept = per_user[f"{name}.test"]
    result["paired_test"] = _paired_tests(kept, test_result)
    last_epoch["paired_test"][name] = _paired_tests(kept, test_last)
  epochs_run = max(len(history), 1)
  timing = {"train_seconds": train_seconds,
            "seconds_per_epoch": train_seconds / epochs_run}
  if examples_per_epoch:
    timing["examples_per_second"] = (examples_per_epoch * epochs_run /
                                     max(train_seconds, 1e-9))
  outcome = {"metrics": {"valid": valid_result.means, "test": test_result.means},
             "best_epoch": int(best.epoch.numpy()) + 1,
             "history": history, "timing": timing, "per_user": per_user}
  if milestone_results:
    outcome["milestones"] = milestone_results
  if last_epoch is not None:
    outcome["last_epoch"] = last_epoch
  if stopped_early is not None:
    outcome["stopped_early_at"] = stopped_early
  return outcome
