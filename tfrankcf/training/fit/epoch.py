"""One epoch of the fit loop: how it is trained, and the record the loop's parts see.

`model.fit` trains one epoch per call (`initial_epoch=epoch`), so the loop's parts
run between epochs; the input of each epoch is `dataset_fn(epoch)`, a function of
(seed, epoch), so a resumed run repeats an interrupted epoch exactly.
"""

import dataclasses
import time
from typing import Callable

import tensorflow as tf

from tfrankcf.training.fit.progress import PROGRESS_INTERVAL, EpochProgress


@dataclasses.dataclass
class Epoch:
  """A trained epoch; validation (`selection.Selection`) fills `valid` and `diagnostics`.

  Attributes:
    index: the epoch, from 0.
    stage: a staged method's stage name (None: one stage).
    every_log: Keras's value of every tracker at the end of the epoch.
    logs: the trackers the stage updates (all of them without stages): the idle
      ones of a stage read 0 and are left out of the history and the log line.
    seconds: wall time of the epoch's start hooks, input and training.
    valid: validation means, if the epoch was validated.
    diagnostics: the method's diagnostics at that validation, if it has any.
  """

  index: int
  stage: str | None
  every_log: dict
  logs: dict
  seconds: float
  valid: dict | None = None
  diagnostics: dict | None = None

  def entry(self) -> dict:
    """The epoch's history entry (history.json, results.json `history`)."""
    entry = {"epoch": self.index + 1, "train_seconds": self.seconds, **self.logs}
    if self.stage is not None:
      entry["stage"] = self.stage
    if self.valid is not None:
      entry["valid"] = self.valid
    if self.diagnostics is not None:
      entry["diagnostics"] = self.diagnostics
    return entry


def _stage(model, epoch: int) -> tuple[str | None, tuple | None]:
  """(name, tracker names) of a staged model's `epoch`; (None, None): one stage, every tracker."""
  training_stage = getattr(model, "training_stage", None)
  return (None, None) if training_stage is None else training_stage(epoch)


def _known_steps(dataset) -> int | None:
  """Batches of `dataset` when its cardinality is known."""
  count = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
  return count if count >= 0 else None


@dataclasses.dataclass
class EpochTrainer:
  """Trains `model` one epoch at a time on `dataset_fn(epoch)`.

  Attributes:
    model: a compiled model. If it has an `epoch` variable, it is assigned
      before every epoch, and its `prepare_epoch(epoch, dataset)` (if any) runs
      before the epoch trains; a staged model's `training_stage(epoch)` gives
      (stage name, the trackers that stage updates).
    dataset_fn: epoch -> that epoch's `tf.data.Dataset` of training batches.
    epochs: the run's epochs (for the progress label).
    distribute: under tf.distribute, an epoch's dataset -> (the strategy's
      per-replica input, steps of the epoch).
    examples_per_epoch: for the progress line's examples per second.
    progress_interval: seconds between the progress lines of a long epoch.
  """

  model: tf.keras.Model
  dataset_fn: Callable[[int], tf.data.Dataset]
  epochs: int
  distribute: Callable[[tf.data.Dataset], tuple] | None = None
  examples_per_epoch: int | None = None
  progress_interval: float = PROGRESS_INTERVAL

  def fit(self, epoch: int, started: float) -> Epoch:
    """Trains epoch `epoch`; `started` (`time.perf_counter`) is when the epoch began."""
    model = self.model
    if hasattr(model, "epoch") and isinstance(model.epoch, tf.Variable):
      model.epoch.assign(epoch)
    dataset = self.dataset_fn(epoch)
    if hasattr(model, "prepare_epoch"):
      model.prepare_epoch(epoch, dataset)
    inputs, steps = (dataset, None) if self.distribute is None else self.distribute(dataset)
    stage, trackers = _stage(model, epoch)
    progress = EpochProgress(f"epoch {epoch + 1}/{self.epochs}", steps or _known_steps(dataset),
                             self.examples_per_epoch, interval=self.progress_interval)
    fit = model.fit(inputs, steps_per_epoch=steps, epochs=epoch + 1, initial_epoch=epoch,
                    verbose=0, callbacks=[progress])
    seconds = time.perf_counter() - started
    every_log = {k: float(v[-1]) for k, v in fit.history.items()}
    logs = {k: v for k, v in every_log.items() if trackers is None or k in trackers}
    return Epoch(epoch, stage, every_log, logs, seconds)
