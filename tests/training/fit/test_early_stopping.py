"""Early stopping's arithmetic: patience in validations, never before the last stage."""

import types

from tfrankcf.training.fit.early_stopping import EarlyStopping
from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState


def _selection(best_epoch):
  return types.SimpleNamespace(best_epoch=best_epoch, metric="ndcg@10")


def _validated(index):
  return Epoch(index, None, {}, {}, 0.0, valid={"ndcg@10": 0.1})


def test_stops_after_patience_validations_without_improvement():
  selection = _selection(best_epoch=3)
  stopping = EarlyStopping(patience=2, eval_every=1, selection=selection)
  assert [e for e in range(10) if stopping.exhausted(e)] == [5, 6, 7, 8, 9]
  every_third = EarlyStopping(patience=2, eval_every=3, selection=selection)
  assert not every_third.exhausted(8) and every_third.exhausted(9)  # 2 validations: 6 epochs


def test_never_before_the_last_stage_and_never_with_zero_patience():
  selection = _selection(best_epoch=0)
  assert not EarlyStopping(patience=0, eval_every=1, selection=selection).exhausted(50)
  staged = EarlyStopping(patience=1, eval_every=1, selection=selection, not_before=5)
  assert [e for e in range(7) if staged.exhausted(e)] == [5, 6]  # epoch 6 is the first after 5


def test_stops_the_run_after_a_validated_epoch_only():
  selection = _selection(best_epoch=0)
  stopping = EarlyStopping(patience=1, eval_every=1, selection=selection)
  run = FitState(None, 10, [stopping])
  stopping.on_epoch_end(run, Epoch(1, None, {}, {}, 0.0))  # not validated
  assert not run.stop_training and stopping.stopped_at is None
  stopping.on_epoch_end(run, _validated(1))
  assert run.stop_training and stopping.stopped_at == 2


def test_a_run_restarted_after_it_stopped_trains_nothing():
  selection = _selection(best_epoch=0)
  stopping = EarlyStopping(patience=1, eval_every=1, selection=selection)
  run = FitState(None, 10, [stopping])
  run.history, run.epochs_done = [{"epoch": 1, "valid": {}}, {"epoch": 2, "valid": {}}], 2
  stopping.on_train_begin(run)
  assert run.stop_training and stopping.stopped_at == 2
  # resumed before the stopping epoch: it trains on
  fresh = EarlyStopping(patience=2, eval_every=1, selection=selection)
  resumed = FitState(None, 10, [fresh])
  resumed.history, resumed.epochs_done = [{"epoch": 1, "valid": {}}, {"epoch": 2, "valid": {}}], 2
  fresh.on_train_begin(resumed)
  assert not resumed.stop_training and fresh.stopped_at is None
