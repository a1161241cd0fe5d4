"""Tests of the shared fit loop: selection on validation, exact resume, NaN guard."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.methods.base import Model
from tfrankcf.protocols import make_split
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.training.loop import TrainingDiverged, train_and_evaluate


class TinyMF(Model):
  """Dot-product MF with a pointwise logistic loss: just enough model to drive the loop."""

  def __init__(self, num_users, num_items, poison_epoch=None, ascent_epoch=None):
    super().__init__(num_items)
    init = tf.keras.initializers.RandomNormal(stddev=0.1, seed=1)
    self.users = self.add_weight("users", (num_users, 8), initializer=init)
    self.items = self.add_weight("items", (num_items, 8), initializer=init)
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.poison_epoch = poison_epoch
    self.ascent_epoch = ascent_epoch  # an epoch of gradient ascent: it gets worse

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


def _split():
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(30), 12)
  items = (users * 7 + rng.integers(0, 25, len(users))) % 60
  data = Interactions.from_raw(users, items, timestamps=np.arange(len(users)))
  return make_split("loo_sampled", data, 0, num_negatives=20)


def _dataset_fn(split, seed=0):
  train = split.train.tocoo()
  def dataset_fn(epoch):
    rng = np.random.default_rng([seed, epoch])
    negatives = rng.integers(0, split.num_items, train.nnz)
    users = np.concatenate([train.row, train.row]).astype(np.int64)
    items = np.concatenate([train.col, negatives]).astype(np.int64)
    labels = np.concatenate([np.ones(train.nnz), np.zeros(train.nnz)]).astype(np.float32)
    order = rng.permutation(len(users))
    return tf.data.Dataset.from_tensor_slices(
        (users[order], items[order], labels[order])).batch(64)
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
  assert outcome["metrics"]["valid"]["ndcg@10"] == pytest.approx(best["valid"]["ndcg@10"])
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
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
  for part in ("valid", "test"):
    assert straight["metrics"][part] == pytest.approx(resumed["metrics"][part])


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
  assert early["metrics"]["valid"]["ndcg@10"] == pytest.approx(best["valid"]["ndcg@10"])
  gain = early["paired_test"]["ndcg@10"]
  assert gain["mean_difference"] == pytest.approx(
      outcome["metrics"]["test"]["ndcg@10"] - early["metrics"]["test"]["ndcg@10"], abs=1e-9)
  assert set(outcome["per_user"]) == {"valid", "test", "early.valid", "early.test",
                                      "last_epoch.valid", "last_epoch.test"}
  # the model as the last epoch left it, whichever epoch was selected, against the milestone
  last = outcome["last_epoch"]
  assert last["epoch"] == 4
  assert last["metrics"]["valid"]["ndcg@10"] == pytest.approx(
      outcome["history"][-1]["valid"]["ndcg@10"])
  assert last["paired_test"]["early"]["ndcg@10"]["mean_difference"] == pytest.approx(
      last["metrics"]["test"]["ndcg@10"] - early["metrics"]["test"]["ndcg@10"], abs=1e-9)
  # keeping the milestone does not disturb training, and survives a resume
  plain = train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                             str(tmp_path / "b"), epochs=4)
  for part in ("valid", "test"):
    assert outcome["metrics"][part] == pytest.approx(plain["metrics"][part])
  train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                     str(tmp_path / "c"), epochs=3, milestones={"early": 2})
  resumed = train_and_evaluate(_model(split), _dataset_fn(split), split, reporting,
                               str(tmp_path / "c"), epochs=4, milestones={"early": 2})
  for part in ("valid", "test"):
    assert resumed["milestones"]["early"]["metrics"][part] == pytest.approx(
        early["metrics"][part])


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
  assert restarted["history"][2]["loss"] == pytest.approx(third, rel=1e-6)
  assert restarted["history"][1]["loss"] == pytest.approx(first["history"][1]["loss"], rel=1e-6)


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
  assert again["metrics"]["test"] == pytest.approx(stopped["metrics"]["test"])
  staged = run("staged", milestones={"pretrained": at + 3})
  assert staged["stopped_early_at"] >= at + 4
