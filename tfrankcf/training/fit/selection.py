"""Validation and the best epoch: the epoch is chosen on the validation users, never the test's.

Every `eval_every` epochs (and after the last) the model is evaluated on the
validation users; an epoch that beats the best selection metric so far writes
its weights to `best/weights` (the model with its optimisers and counters). The
best score and epoch are a trackable (`_BestTracker`) that the run's checkpoint
holds, so a resumed run keeps them. At the end the best weights come back and
the validation and test users are evaluated on them.
"""

import os
from typing import Callable

import numpy as np
import tensorflow as tf

from tfrankcf.metrics import EvalResult
from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.evaluation import Evaluator
from tfrankcf.training.fit.part import FitState, Part


class _BestTracker(tf.Module):
  """Checkpointed best-validation state, so a resumed run keeps it."""

  def __init__(self):
    super().__init__()
    self.value = tf.Variable(-np.inf, dtype=tf.float64, trainable=False)
    self.epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)


class Selection(Part):
  """Validates, keeps the best validation epoch's weights, and evaluates them at the end.

  Args:
    model: the model being trained.
    evaluator: evaluates it; its `selection` metric chooses the epoch.
    output_dir: the best weights go to `<output_dir>/best/weights`.
    eval_every: validate after every `eval_every` epochs (and after the last).
    diagnostics: called after each validation; its dict of numbers goes into the
      epoch's history entry (e.g. RaCT's critic correlation, which needs the
      critic of that epoch).
  """

  def __init__(self, model: tf.keras.Model, evaluator: Evaluator, output_dir: str,
               eval_every: int = 1, diagnostics: Callable[[], dict] | None = None):
    self.evaluator, self.eval_every, self.diagnostics = evaluator, eval_every, diagnostics
    self.metric = evaluator.selection
    self.best = _BestTracker()  # a trackable of the run's checkpoint
    self.path = os.path.join(output_dir, "best", "weights")
    self._weights = tf.train.Checkpoint(model=model)

  @property
  def best_epoch(self) -> int:
    """The best validation epoch so far, from 0 (-1: none yet)."""
    return int(self.best.epoch.numpy())

  @property
  def best_value(self) -> float:
    """Its selection metric (-inf: none yet)."""
    return float(self.best.value.numpy())

  def validates(self, epoch: int, epochs: int) -> bool:
    """Whether epoch `epoch` (from 0) of a run of `epochs` epochs is validated."""
    return (epoch + 1) % self.eval_every == 0 or epoch + 1 == epochs

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    if not self.validates(epoch.index, run.epochs):
      return
    epoch.valid = self.evaluator.valid(run.model).means
    if self.diagnostics is not None:
      epoch.diagnostics = self.diagnostics()
    if epoch.valid[self.metric] > self.best.value.numpy():
      self.best.value.assign(epoch.valid[self.metric])
      self.best.epoch.assign(epoch.index)
      self._weights.write(self.path)

  def restore_best(self, run: FitState) -> bool:
    """Reads the best weights so far back into the model; False if no epoch was validated."""
    if self.best_epoch < 0:
      return False
    self._weights.read(self.path).expect_partial()
    run.restored()
    return True

  def evaluate_best(self, run: FitState) -> tuple[EvalResult, EvalResult]:
    """(validation, test) results of the best epoch's weights (the model's own if none)."""
    self.restore_best(run)
    return self.evaluator.both(run.model)
