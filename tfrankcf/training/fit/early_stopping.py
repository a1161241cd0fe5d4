"""Early stopping: training ends once the selection metric stops improving.

With patience P, training ends after a validation that leaves the best epoch P
validations (P * eval_every epochs) behind, but never before `not_before` epochs
(the last milestone or `restore_best_at`: a staged method's stages all run). The
decision is a function of the checkpointed best epoch, so a resumed run stops
where the uninterrupted one would, and a run restarted after it stopped trains
nothing more.
"""

import logging

from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part


class EarlyStopping(Part):
  """Stops training after `patience` validations without a better selection metric.

  Place it after the checkpointing part: the epoch that stops is a finished one.

  Args:
    patience: validations without improvement that end training (0: never stop early).
    eval_every: epochs between validations.
    selection: the run's `Selection` (its `best_epoch` and `metric`).
    not_before: epochs that always run.
  """

  def __init__(self, patience: int, eval_every: int, selection, not_before: int = 0):
    self.patience, self.eval_every, self.not_before = patience, eval_every, not_before
    self.selection = selection
    self.stopped_at: int | None = None  # the epochs trained when it stopped

  def exhausted(self, epoch: int) -> bool:
    """Whether training stops after epoch `epoch` (from 0, just validated)."""
    return (self.patience > 0 and epoch + 1 > self.not_before
            and epoch - self.selection.best_epoch >= self.patience * self.eval_every)

  def on_train_begin(self, run: FitState) -> None:
    if run.history and "valid" in run.history[-1] and self.exhausted(run.epochs_done - 1):
      self.stopped_at = run.epochs_done  # killed after stopping: nothing to train
      run.stop_training = True

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    if epoch.valid is not None and self.exhausted(epoch.index):
      self.stopped_at = epoch.index + 1
      logging.info("Early stopping after epoch %d: no better validation %s in %d evaluations "
                   "(best at epoch %d)", epoch.index + 1, self.selection.metric, self.patience,
                   self.selection.best_epoch + 1)
      run.stop_training = True
