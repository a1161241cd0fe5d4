"""Back to the best validation epoch before a stage: RaCT's critic stages start from the best
pre-trained actor (as its code does), not from the last one."""

import logging

from tfrankcf.training.fit.part import FitState, Part
from tfrankcf.training.fit.selection import Selection


class ContinueFromBest(Part):
  """Before epoch `at` (from 0) trains, the model goes back to the best validation epoch so far.

  The model's optimisers and counters come back with its weights (the best
  weights are the whole model); `at` None does nothing.
  """

  def __init__(self, selection: Selection, at: int | None):
    self.selection, self.at = selection, at

  def on_epoch_begin(self, run: FitState, epoch: int) -> None:
    if epoch == self.at and self.selection.restore_best(run):
      logging.info("Continuing from the best epoch so far (%d)", self.selection.best_epoch + 1)
