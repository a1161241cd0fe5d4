"""The divergence guard: a NaN or infinite loss, or weights, stop the run.

It runs right after an epoch trains, before anything of that epoch is written,
so the last good checkpoint (the previous epoch's) stays the latest.
"""

import math

import tensorflow as tf

from tfrankcf.errors import TrainingDiverged
from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part


def all_finite(variables) -> bool:
  """Whether every floating variable of `variables` has finite values only."""
  return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables
             if v.dtype.is_floating)


class DivergenceGuard(Part):
  """Raises `TrainingDiverged` after an epoch whose trackers or trainable weights are not finite.

  Every tracker counts, the idle ones of a stage too. The message names the
  epoch and the last good checkpoint of `checkpointing` (a `Checkpointing`:
  its `directory` and `latest`).
  """

  def __init__(self, checkpointing):
    self.checkpointing = checkpointing

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    bad = [f"{k} is {v}" for k, v in epoch.every_log.items() if not math.isfinite(v)]
    if not bad and not all_finite(run.model.trainable_variables):
      bad = ["the weights are not finite"]  # the last update overflowed
    if bad:
      kept = (f"the last good checkpoint (epoch {epoch.index}) is in "
              f"{self.checkpointing.directory}" if self.checkpointing.latest
              else "no checkpoint was written")
      raise TrainingDiverged(f"epoch {epoch.index + 1}: {', '.join(bad)}; stopped, {kept}")
