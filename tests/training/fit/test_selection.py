"""Selection: validation every `eval_every` epochs, the best epoch and its weights."""

import types

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part
from tfrankcf.training.fit.selection import Selection


class _Evaluator:
  """Validation scores from a list, one per call; the test score is the weight's value."""

  selection = "ndcg@10"

  def __init__(self, scores):
    self.scores = list(scores)

  def valid(self, model):
    return types.SimpleNamespace(means={"ndcg@10": self.scores.pop(0)})

  def both(self, model):
    value = float(model.weight.numpy())
    return (types.SimpleNamespace(means={"ndcg@10": value}),
            types.SimpleNamespace(means={"ndcg@10": value}))


class _Restores(Part):
  def __init__(self):
    self.count = 0

  def on_restore(self, run):
    self.count += 1


def _epoch(index):
  return Epoch(index, None, {"loss": 1.0}, {"loss": 1.0}, 0.1)


def test_validates_every_eval_every_and_after_the_last_epoch(tmp_path):
  selection = Selection(tf.Module(), _Evaluator([]), str(tmp_path), eval_every=3)
  assert [e for e in range(7) if selection.validates(e, 7)] == [2, 5, 6]


def test_keeps_the_best_epoch_and_its_weights(tmp_path):
  model = tf.Module()
  model.weight = tf.Variable(0.0)
  calls = []
  selection = Selection(model, _Evaluator([0.2, 0.5, 0.4, 0.5]), str(tmp_path), eval_every=1,
                        diagnostics=lambda: {"calls": float(len(calls.append(1) or calls))})
  restores = _Restores()
  run = FitState(model, 4, [selection, restores])
  assert selection.best_epoch == -1 and selection.best_value == -np.inf
  assert not selection.restore_best(run) and restores.count == 0
  epochs = []
  for index in range(4):
    model.weight.assign(float(index + 1))
    epochs.append(_epoch(index))
    selection.on_epoch_end(run, epochs[-1])
  assert [e.valid["ndcg@10"] for e in epochs] == [0.2, 0.5, 0.4, 0.5]
  assert [e.diagnostics for e in epochs] == [{"calls": float(n)} for n in (1, 2, 3, 4)]
  # a tie does not replace the best: the first epoch reaching it stays selected
  assert selection.best_epoch == 1 and selection.best_value == pytest.approx(0.5, abs=1e-12)
  valid, test = selection.evaluate_best(run)  # epoch 2's weights are back
  assert float(model.weight.numpy()) == 2.0 and restores.count == 1
  assert test.means["ndcg@10"] == 2.0


def test_an_unvalidated_epoch_changes_nothing(tmp_path):
  model = tf.Module()
  model.weight = tf.Variable(0.0)
  selection = Selection(model, _Evaluator([0.3]), str(tmp_path), eval_every=2)
  run = FitState(model, 4, [selection])
  first = _epoch(0)
  selection.on_epoch_end(run, first)
  assert first.valid is None and first.diagnostics is None and selection.best_epoch == -1
  assert not (tmp_path / "best").exists()
  second = _epoch(1)
  selection.on_epoch_end(run, second)
  assert second.valid == {"ndcg@10": 0.3} and selection.best_epoch == 1
  assert (tmp_path / "best" / "weights.index").exists()
