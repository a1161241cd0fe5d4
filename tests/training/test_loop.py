"""Tests of the shared fit loop: selection on validation, exact resume (also after a kill at
any file write), NaN and non-finite weights guard, learning rates on restart."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.methods.base import Model
from tfrankcf.protocols import make_split
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.training.fit import checkpointing, milestones
from tfrankcf.training.loop import TrainingDiverged, train_and_evaluate


class TinyMF(Model):
  """Dot-product MF with a pointwise logistic loss: just enough model to drive the loop."""

  def __init__(self, num_users, num_items, poison_epoch=None, ascent_epoch=None,
               blowup_epoch=None):
    super().__init__(num_items)
    init = tf.keras.initializers.RandomNormal(stddev=0.1, seed=1)
    self.users = self.add_weight("users", (num_users, 8), initializer=init)
    self.items = self.add_weight("items", (num_items, 8), initializer=init)
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.poison_epoch = poison_epoch
    self.ascent_epoch = ascent_epoch  # an epoch of gradient ascent: it gets worse
    self.blowup_epoch = blowup_epoch  # an epoch whose updates make the weights infinite

  def predict_scores(self, user_index, history):
    return tf.matmul(tf.gather(self.users, user_index), self.items, transpose_b=True)

  def compute_example_losses(self, batch, training=True):
    users, items, labels = batch
    logits = tf.reduce_sum(tf.gather(self.users, users) * tf.gather(self.items, items), -1)
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)
    if self.ascent_epoch is not None:
      losses *= tf.where(self.epoch == self.ascent_epoch, -1.0, 1.0)
    if self.poison_epoch is not None:
      losses += tf.where(self.epoch == self.poison_epoch, np.nan, 0.0)
    return losses

  def train_step(self, batch):
    logs = super().train_step(batch)
    if self.blowup_epoch is not None:
      self.items.assign(self.items * tf.where(self.epoch == self.blowup_epoch, np.inf, 1.0))
    return logs


def _split():
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(30), 12)
  items = (users * 7 + rng.integers(0, 25, len(users))) % 60
  data = Interactions.from_raw(users, items, timestamps=np.arange(len(users)))
  return make_split("loo_sampled", data, 0, num_negatives=20)


def _dataset_fn(split, seed=0, batch_size=64):
  train = split.train.tocoo()
  def dataset_fn(epoch):
    rng = np.random.default_rng([seed, epoch])
    negatives = rng.integers(0, split.num_items, train.nnz)
    users = np.concatenate([train.row, train.row]).astype(np.int64)
    items = np.concatenate([train.col, negatives]).astype(np.int64)
    labels = np.concatenate([np.ones(train.nnz), np.zeros(train.nnz)]).astype(np.float32)
    order = rng.permutation(len(users))
    return tf.data.Dataset.from_tensor_slices(
        (users[order], items[order], labels[order])).batch(batch_size)
  return dataset_fn


def _model(split, learning_rate=0.05, **kwargs):
  tf.keras.utils.set_random_seed(0)
  model = TinyMF(split.num_users, split.num_items, **kwargs)
  model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate))
  return model


def test_trains_selects_on_validation_and_reports_test(tmp_path):
  split = _split()
  calls = []
  outcome = train_and_evaluate(_model(split), _dataset_fn(split), split,
                               REPORTING["loo_sampled"], str(tmp_path), epochs=4,
                               eval_every=2, examples_per_epoch=2 * split.train.nnz,
                               diagnostics=lambda: {"calls": float(len(calls.append(1) or calls))})
  history = outcome["history"]
  assert [h["epoch"] for h in history] == [1, 2, 3, 4]
  assert [h.get("diagnostics") for h in history] == [None, {"calls": 1.0}, None, {"calls": 2.0}]
  best = max((h for h in history if "valid" in h), key=lambda h: h["valid"]["ndcg@10"])
  assert outcome["best_epoch"] == best["epoch"]
  assert outcome["metrics"]["valid"]["ndcg@10"] == pytest.approx(best["valid"]["ndcg@10"],
                                                                 rel=1e-6, abs=1e-12)
  assert history[-1]["loss"] < history[0]["loss"]
  assert set(outcome["metrics"]["test"]) >= {"hr@10", "ndcg@10", "hr@5", "ndcg@20"}
  assert outcome["timing"]["examples_per_second"] > 0
  assert os.listdir(tmp_path / "tensorboard")


def test_resume_equals_uninterrupted_run(tmp_path):
  split = _split()
  straight = train_and_evaluate(_model(split), _dataset_fn(split), split,
                                REPORTING["loo_sampled"], str(tmp_path / "a"), epochs=4)
  train_and_evaluate(_model(split), _dataset_fn(split), split,
                     REPORTING["loo_sampled"], str(tmp_path / "b"), epochs=2)
  resumed = train_and_evaluate(_model(split), _dataset_fn(split), split,
                               REPORTING["loo_sampled"], str(tmp_path / "b"), epochs=4)
  assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3, 4]
  for a, b in zip(straight["history"], resumed["history"]):
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6, abs=1e-9)
  for part in ("valid", "test"):  # one process, the same kernels: equal up to float64 sums
    assert straight["metrics"][part] == pytest.approx(resumed["metrics"][part], rel=1e-6,
                                                      abs=1e-12)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  split = _split()
  with pytest.raises(TrainingDiverged, match="epoch 3: loss is nan"):
    train_and_evaluate(_model(split, poison_epoch=2), _dataset_fn(split), split,
                       REPORTING["loo_sampled"], str(tmp_path), epochs=4)
  assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("-2")
  with open(tmp_path / "checkpoints" / "history.json") as f:
    assert len(json.load(f)) == 2


def test_milestone_keeps_the_best_model_so_far_and_is_compared(tmp_path):
  split = _split()
  reporting = REPORTING["loo_sampled"]
  outcome = train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                               str(tmp_path / "a"), epochs=4, milestones={"early": 2})
  early = outcome["milestones"]["early"]
  first_two = outcome["history"][:2]
  best = max(first_two, key=lambda h: h["valid"]["ndcg@10"])
  assert early["epochs"] == 2 and early["best_epoch"] == best["epoch"]
  assert early["metrics"]["valid"]["ndcg@10"] == pytest.approx(best["valid"]["ndcg@10"],
                                                               rel=1e-6, abs=1e-12)
  gain = early["paired_test"]["ndcg@10"]
  assert gain["mean_difference"] == pytest.approx(
      outcome["metrics"]["test"]["ndcg@10"] - early["metrics"]["test"]["ndcg@10"], abs=1e-9)
  assert set(outcome["per_user"]) == {"valid", "test", "early.valid", "early.test",
                                      "last_epoch.valid", "last_epoch.test"}
  # the model as the last epoch left it, whichever epoch was selected, against the milestone
  last = outcome["last_epoch"]
  assert last["epoch"] == 4
  assert last["metrics"]["valid"]["ndcg@10"] == pytest.approx(
      outcome["history"][-1]["valid"]["ndcg@10"], rel=1e-6, abs=1e-12)
  assert last["paired_test"]["early"]["ndcg@10"]["mean_difference"] == pytest.approx(
      last["metrics"]["test"]["ndcg@10"] - early["metrics"]["test"]["ndcg@10"], abs=1e-9)
  # keeping the milestone does not disturb training, and survives a resume
  plain = train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                             str(tmp_path / "b"), epochs=4)
  for part in ("valid", "test"):
    assert outcome["metrics"][part] == pytest.approx(plain["metrics"][part], rel=1e-6,
                                                     abs=1e-12)
  train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                     str(tmp_path / "c"), epochs=3, milestones={"early": 2})
  resumed = train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                               str(tmp_path / "c"), epochs=4, milestones={"early": 2})
  for part in ("valid", "test"):
    assert resumed["milestones"]["early"]["metrics"][part] == pytest.approx(
        early["metrics"][part], rel=1e-6, abs=1e-12)


def test_restore_best_at_continues_from_the_best_epoch(tmp_path):
  split = _split()
  reporting = REPORTING["loo_sampled"]
  dataset_fn = _dataset_fn(split)
  first = train_and_evaluate(_model(split, ascent_epoch=1), dataset_fn, split, reporting,
                             str(tmp_path / "a"), epochs=2)
  assert first["best_epoch"] == 1  # epoch 2 overshoots: restoring is not a no-op
  restarted = train_and_evaluate(_model(split, ascent_epoch=1), dataset_fn, split,
                                 reporting, str(tmp_path / "b"), epochs=3, restore_best_at=2)
  by_hand = _model(split, ascent_epoch=1)
  tf.train.Checkpoint(model=by_hand).read(str(tmp_path / "a" / "best" / "weights"))
  third = by_hand.fit(dataset_fn(2), verbose=0).history["loss"][-1]
  assert restarted["history"][2]["loss"] == pytest.approx(third, rel=1e-6, abs=1e-9)
  assert restarted["history"][1]["loss"] == pytest.approx(first["history"][1]["loss"], rel=1e-6,
                                                          abs=1e-9)


def test_early_stopping_after_patience_not_before_the_last_stage(tmp_path):
  split = _split()

  def run(directory, patience=2, **kwargs):
    return train_and_evaluate(_model(split, learning_rate=0.2), _dataset_fn(split), split,
                              REPORTING["loo_sampled"], str(tmp_path / directory),
                              epochs=40, early_stopping_patience=patience, **kwargs)

  stopped = run("plain")
  at = stopped["stopped_early_at"]
  assert at < 40 and len(stopped["history"]) == at
  assert at - stopped["best_epoch"] == 2  # two validations without improvement
  again = run("plain")  # restarted after stopping: nothing more is trained
  assert again["stopped_early_at"] == at and len(again["history"]) == at
  assert again["metrics"]["test"] == pytest.approx(stopped["metrics"]["test"], rel=1e-6,
                                                   abs=1e-12)
  staged = run("staged", milestones={"pretrained": at + 3})
  assert staged["stopped_early_at"] >= at + 4


# -- the loop itself: a kill at every write, learning rates, non-finite weights -------------


class _Killed(BaseException):
  """Stands for SIGKILL: nothing in the loop catches it."""


def _train(split, output_dir, learning_rate=0.05, model_kwargs=None, batch_size=64):
  """A fresh model on `output_dir` (resuming what is there), staged like RaCT."""
  tf.keras.utils.set_random_seed(0)
  model = TinyMF(split.num_users, split.num_items, **(model_kwargs or {}))
  model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate))
  outcome = train_and_evaluate(model, _dataset_fn(split, batch_size=batch_size), split,
                               REPORTING["loo_sampled"], str(output_dir), epochs=2,
                               milestones={"early": 1}, restore_best_at=1)
  return model, outcome


def _without_times(outcome):
  return [{k: v for k, v in entry.items() if k != "train_seconds"}
          for entry in outcome["history"]]


def test_a_kill_after_any_file_write_resumes_exactly(tmp_path, monkeypatch):
  split = _split()
  writes, kill = [], {"after": 0}

  def counted(name, function):
    def write(*args, **kwargs):
      result = function(*args, **kwargs)
      writes.append(name)
      if len(writes) == kill["after"]:
        raise _Killed(name)
      return result
    return write

  for module in (checkpointing, milestones):
    monkeypatch.setattr(module, "write_json",
                        counted("history/milestone json", module.write_json))
  monkeypatch.setattr(milestones, "copy_checkpoint",
                      counted("milestone", milestones.copy_checkpoint))
  monkeypatch.setattr(tf.train.Checkpoint, "write", counted("best", tf.train.Checkpoint.write))
  monkeypatch.setattr(tf.train.CheckpointManager, "save",
                      counted("checkpoint", tf.train.CheckpointManager.save))
  _, reference = _train(split, tmp_path / "reference")  # not killed: counts the writes
  points = list(writes)
  assert {"history/milestone json", "milestone", "best", "checkpoint"} <= set(points)
  for after in range(1, len(points) + 1):
    directory = tmp_path / f"killed_{after}"
    writes.clear()
    kill["after"] = after
    with pytest.raises(_Killed):
      _train(split, directory)
    kill["after"] = 0  # the restarted run runs to the end
    _, resumed = _train(split, directory)
    point = f"killed after write {after} ({points[after - 1]})"
    assert _without_times(resumed) == _without_times(reference), point
    assert resumed["best_epoch"] == reference["best_epoch"], point
    for part in ("valid", "test"):
      assert resumed["metrics"][part] == reference["metrics"][part], point
      assert (resumed["milestones"]["early"]["metrics"][part] ==
              reference["milestones"]["early"]["metrics"][part]), point


def test_resume_takes_the_command_lines_learning_rate(tmp_path):
  split = _split()
  with pytest.raises(TrainingDiverged):
    _train(split, tmp_path, learning_rate=0.05, model_kwargs={"blowup_epoch": 1})
  model, outcome = _train(split, tmp_path, learning_rate=0.01)
  assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01, rel=1e-6, abs=1e-12)
  assert [entry["epoch"] for entry in outcome["history"]] == [1, 2]


def test_non_finite_weights_with_a_finite_loss_stop_the_run(tmp_path):
  split = _split()
  with pytest.raises(TrainingDiverged) as raised:
    _train(split, tmp_path, model_kwargs={"blowup_epoch": 1}, batch_size=10_000)
  assert str(raised.value) == (
      f"epoch 2: the weights are not finite; stopped, the last good checkpoint (epoch 1) "
      f"is in {tmp_path / 'checkpoints'}")
  assert tf.train.latest_checkpoint(tmp_path / "checkpoints").endswith("ckpt-1")
  with pytest.raises(TrainingDiverged, match="epoch 1: .*; stopped, no checkpoint was written"):
    _train(split, tmp_path / "first", model_kwargs={"blowup_epoch": 0}, batch_size=10_000)
