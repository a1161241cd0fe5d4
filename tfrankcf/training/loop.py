"""The fit loop shared by every trainable method.

`train_and_evaluate` drives `model.fit` one epoch at a time; around each epoch
the parts of `tfrankcf.training.fit`, one job each, in this order:

* `ContinueFromBest`: before a stage that starts from the best model so far
  (`restore_best_at`), the best validation epoch's weights come back;
* `DivergenceGuard`: a NaN or infinite loss (or weights) stops the run with
  `TrainingDiverged`, before the epoch writes anything, keeping the last good
  checkpoint;
* `Selection`: validation every `eval_every` epochs on the validation users
  (never the test users); the best epoch's weights go to `best/`;
* `TensorBoardSummaries` and `EpochLog`: the epoch's summaries and log line (a
  staged method's line names its stage and shows only the trackers that stage
  updates: the model's `training_stage(epoch) -> (name, tracker names)`); during
  a long epoch a progress line every `progress_interval` seconds;
* `Milestones`: at a stage boundary, the best model so far is kept;
* `Checkpointing`: the history (`checkpoints/history.json`), then the
  checkpoint of model, optimisers, epoch and best epoch, written last, so a run
  killed at any moment resumes from a finished epoch; a restarted run resumes
  from the latest checkpoint (the input order is a function of (seed, epoch), so
  a resumed run repeats the interrupted epoch exactly);
* the caller's `callbacks`;
* `EarlyStopping`: patience, never before the last stage.

`LearningRateOverride` makes the command line's learning rates win over a
restored checkpoint's. Ctrl-C becomes `tfrankcf.errors.Interrupted`, which names
the last checkpointed epoch (the same command resumes from it). Finally the best
weights come back and the validation and test users are evaluated on them.
"""

import time
from typing import Callable, Sequence

import tensorflow as tf

from tfrankcf.protocols.reporting import Reporting
from tfrankcf.protocols.split import Split
from tfrankcf.training.fit.checkpointing import Checkpointing
from tfrankcf.training.fit.continue_from_best import ContinueFromBest
from tfrankcf.training.fit.divergence import DivergenceGuard, TrainingDiverged
from tfrankcf.training.fit.early_stopping import EarlyStopping
from tfrankcf.training.fit.epoch import EpochTrainer
from tfrankcf.training.fit.epoch_log import EpochLog
from tfrankcf.training.fit.evaluation import Evaluator
from tfrankcf.training.fit.interrupt import interruptible
from tfrankcf.training.fit.learning_rates import LearningRateOverride
from tfrankcf.training.fit.milestones import Milestones
from tfrankcf.training.fit.part import FitState, Part
from tfrankcf.training.fit.progress import PROGRESS_INTERVAL
from tfrankcf.training.fit.selection import Selection
from tfrankcf.training.fit.tensorboard import TensorBoardSummaries

__all__ = ["TrainingDiverged", "train_and_evaluate"]


def _timing(history: list, examples_per_epoch: int | None) -> dict:
  """results' `timing`: training seconds of every epoch (the resumed ones too), their rates."""
  train_seconds = sum(entry.get("train_seconds", 0.0) for entry in history)
  epochs_run = max(len(history), 1)
  timing = {"train_seconds": train_seconds, "seconds_per_epoch": train_seconds / epochs_run}
  if examples_per_epoch:
    timing["examples_per_second"] = (examples_per_epoch * epochs_run /
                                     max(train_seconds, 1e-9))
  return timing


@interruptible
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
    milestones: dict | None = None,
    diagnostics: Callable[[], dict] | None = None,
    restore_best_at: int | None = None,
    early_stopping_patience: int = 0,
    distribute: Callable[[tf.data.Dataset], tuple] | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
    callbacks: Sequence[Part] = (),
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
    output_dir: checkpoints/, best/, milestones/ and tensorboard/ go under it.
    epochs: epochs of the whole run (a resumed run trains the rest).
    eval_every: validate after every `eval_every` epochs (and after the last).
    eval_batch_size: users scored at a time.
    examples_per_epoch: for `timing.examples_per_second`.
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
    callbacks: more `tfrankcf.training.fit.part.Part`s; their `on_epoch_end`
      runs after the epoch's checkpoint is written, before early stopping.

  Returns:
    dict with `metrics` ({"valid": ..., "test": ...} at the best epoch),
    `history`, `timing`, `best_epoch`, `per_user` ({"valid", "test"} and
    "<milestone>.valid", "<milestone>.test" evaluation results) and, with
    milestones, `milestones` ({name: {"epochs", "best_epoch", "metrics",
    "paired_test"}}; paired_test: final minus milestone, per test metric) and
    `last_epoch` ({"epoch", "metrics", "paired_test": {milestone: last epoch's
    model minus milestone}}; per_user "last_epoch.valid", "last_epoch.test"):
    the model as the last stage left it, whichever epoch validation selected;
    `stopped_early_at` (epochs trained) if early stopping ended the run.

  Raises:
    TrainingDiverged: a loss or the weights became NaN or infinite.
    tfrankcf.errors.Interrupted: Ctrl-C.
  """
  evaluator = Evaluator(split, reporting, eval_batch_size)
  selection = Selection(model, evaluator, output_dir, eval_every, diagnostics)
  checkpointing = Checkpointing(model, output_dir, {"best": selection.best})
  kept = Milestones(model, milestones, epochs, selection, evaluator, output_dir)
  early_stopping = EarlyStopping(early_stopping_patience, eval_every, selection,
                                 not_before=max([0, restore_best_at or 0, *kept.at.values()]))
  run = FitState(model, epochs, [
      LearningRateOverride(checkpointing.checkpoint),  # built before the resume restores
      ContinueFromBest(selection, restore_best_at),
      DivergenceGuard(checkpointing),
      selection,
      TensorBoardSummaries(output_dir),
      EpochLog(selection),
      kept,
      checkpointing,  # the last writer of an epoch, and the resume
      *callbacks,
      early_stopping,
  ])
  trainer = EpochTrainer(model, dataset_fn, epochs, distribute, examples_per_epoch,
                         progress_interval)

  run.train_begin()
  for epoch in range(run.epochs_done, epochs):
    if run.stop_training:
      break
    started = time.perf_counter()
    run.epoch_begin(epoch)
    run.epoch_end(trainer.fit(epoch, started))
  run.train_end()

  valid, test = selection.evaluate_best(run)
  outcome = {"metrics": {"valid": valid.means, "test": test.means},
             "best_epoch": selection.best_epoch + 1,
             "history": run.history, "timing": _timing(run.history, examples_per_epoch),
             "per_user": {**kept.per_user, "valid": valid, "test": test}}
  outcome.update(kept.report(test))
  if early_stopping.stopped_at is not None:
    outcome["stopped_early_at"] = early_stopping.stopped_at
  return outcome
