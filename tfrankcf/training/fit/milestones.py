"""Milestones: the best model so far at a stage boundary, kept, evaluated and compared.

After `at` epochs, the best validation model so far (before any validation: the
current one) is copied to `<output_dir>/milestones/<name>/weights`, with its
best epoch in `weights.json` (e.g. RaCT's pre-trained actor after stage 1). At
the end each milestone's model is evaluated like the final one, and the final
model's per-user test metrics are compared with it by a paired test. So is the
model as the last epoch left it (`last_epoch`), whichever epoch validation
selected: a staged method's selection may fall in an early stage (CF-SFL's
loop, say, never beating its pre-trained recommender).
"""

import json
import os
import shutil

import tensorflow as tf

from tfrankcf.metrics import EvalResult
from tfrankcf.metrics.significance import paired_test
from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.evaluation import Evaluator
from tfrankcf.training.fit.part import FitState, Part
from tfrankcf.training.fit.selection import Selection
from tfrankcf.training.results import write_json


def copy_checkpoint(source: str, target: str) -> None:
  """Copies the files of checkpoint prefix `source` to prefix `target`, each atomically."""
  os.makedirs(os.path.dirname(target), exist_ok=True)
  for path in tf.io.gfile.glob(source + ".index") + tf.io.gfile.glob(source + ".data-*"):
    destination = target + path[len(source):]
    shutil.copyfile(path, destination + ".tmp")
    os.replace(destination + ".tmp", destination)


def paired_tests(reference: EvalResult, other: EvalResult) -> dict:
  """Per test metric, the paired test over users of `other` minus `reference`."""
  return {key: paired_test(reference.per_user[key], other.per_user[key])
          for key in other.per_user}


class Milestones(Part):
  """Keeps the best model so far at each milestone; evaluates them and the last epoch at the end.

  Args:
    model: the model being trained.
    milestones: {name: epochs}; those not strictly inside (0, `epochs`) are ignored.
    epochs: the run's epochs.
    selection: the run's selection, whose best weights a milestone copies.
    evaluator: evaluates the kept models.
    output_dir: the milestones go to `<output_dir>/milestones/`.
  """

  def __init__(self, model: tf.keras.Model, milestones: dict | None, epochs: int,
               selection: Selection, evaluator: Evaluator, output_dir: str):
    self.at = {name: at for name, at in (milestones or {}).items() if 0 < at < epochs}
    self.selection, self.evaluator, self.output_dir = selection, evaluator, output_dir
    self._weights = tf.train.Checkpoint(model=model)
    self.per_user: dict = {}  # "last_epoch.valid", "<name>.test", ...: EvalResults, at the end
    self._last_epoch = None
    self._kept: dict = {}

  def path(self, name: str) -> str:
    return os.path.join(self.output_dir, "milestones", name, "weights")

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    for name, at in self.at.items():
      if epoch.index + 1 == at:
        self._keep(name)

  def _keep(self, name: str) -> None:
    """Copies the best model so far (before any validation: the current one) to the milestone."""
    if self.selection.best_epoch >= 0:
      copy_checkpoint(self.selection.path, self.path(name))
    else:
      self._weights.write(self.path(name))
    write_json(self.path(name) + ".json", {"best_epoch": self.selection.best_epoch + 1})

  def on_train_end(self, run: FitState) -> None:
    """Evaluates the model as the last epoch left it, then each kept model (read into it)."""
    if not self.at:
      return
    valid_last, test_last = self.evaluator.both(run.model)
    self.per_user["last_epoch.valid"], self.per_user["last_epoch.test"] = valid_last, test_last
    self._last_epoch = {"epoch": run.epochs_done,
                        "metrics": {"valid": valid_last.means, "test": test_last.means}}
    for name, at in self.at.items():
      if not os.path.exists(self.path(name) + ".json"):
        continue
      self._weights.read(self.path(name)).expect_partial()
      with open(self.path(name) + ".json") as f:
        kept = json.load(f)
      valid_kept, test_kept = self.evaluator.both(run.model)
      self.per_user[f"{name}.valid"], self.per_user[f"{name}.test"] = valid_kept, test_kept
      self._kept[name] = {"epochs": at, "best_epoch": kept["best_epoch"],
                          "metrics": {"valid": valid_kept.means, "test": test_kept.means}}

  def report(self, final_test: EvalResult) -> dict:
    """results' `milestones` and `last_epoch`, compared with the final model's `final_test`.

    `milestones`: {name: {"epochs", "best_epoch", "metrics", "paired_test"}}
    (paired_test: final minus milestone, per test metric), if any was kept;
    `last_epoch`: {"epoch", "metrics", "paired_test": {milestone: last epoch's
    model minus milestone}}, if the run has milestones.
    """
    if self._last_epoch is None:
      return {}
    test_last = self.per_user["last_epoch.test"]
    milestones, last_epoch = {}, {**self._last_epoch, "paired_test": {}}
    for name, result in self._kept.items():
      kept = self.per_user[f"{name}.test"]
      milestones[name] = {**result, "paired_test": paired_tests(kept, final_test)}
      last_epoch["paired_test"][name] = paired_tests(kept, test_last)
    outcome = {"milestones": milestones} if milestones else {}
    outcome["last_epoch"] = last_epoch
    return outcome
