"""CF-SFL: T = 0 is the base recommender, which weights each step and stage moves, resume, binary.

Model-level tests train with `run_eagerly=True` (the same ops, no tracing);
the binary test runs the traced path.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective
from tfrankcf.methods.cfsfl import CFSFL, CFSFLConfig, recommender_for, recommender_objective

M = 12
BINARY = os.path.join(os.path.dirname(__file__), "..", "..", "binaries", "train_cfsfl.py")
SMALL = {"embedding_dim": 8, "reward_dims": (16, 16, 16), "feedback_dims": (16, 16, 16)}


def _rows():
  rng = np.random.default_rng(0)
  matrix = sp.csr_matrix((rng.random((10, M)) < 0.4).astype(np.float32))
  return UserRows(matrix, batch_size=10, seed=0)  # one batch per epoch


def _model(init_seed=0, actor="vae", **config):
  tf.keras.utils.set_random_seed(init_seed)
  config = CFSFLConfig(**{"recommender_epochs": 1, "reward_epochs": 1, "joint_epochs": 2,
                          "unroll_steps": 2, "actor": actor, "anneal_steps": 100, **SMALL,
                          **config})
  model = CFSFL(recommender_for(M, config), recommender_objective(config, batch_size=10), config,
                seed=3)
  model.compile(optimizer=model.actor_optimizer, run_eagerly=True)
  return model


def _values(variables):
  return [v.numpy().copy() for v in variables]


def _changed(before, variables):
  return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def _train_epoch(model, rows, epoch):
  """One epoch as the trainer runs it."""
  model.epoch.assign(epoch)
  dataset = rows(epoch)
  model.prepare_epoch(epoch, dataset)
  return model.fit(dataset, verbose=0).history


def _groups(model):
  user = model.virtual_user
  return {"actor": model.actor.trainable_variables, "reward": user.reward_variables,
          "feedback": user.feedback_variables}


@pytest.mark.parametrize("actor", ["vae", "dae", "mf"])
def test_zero_unroll_steps_is_exactly_the_base_recommender(actor):
  # glorot feedback weights: v_0 = 0 must cancel them, not a zero initialisation.
  model = _model(actor=actor, unroll_steps=0, feedback_init="glorot")
  model.epoch.assign(3)  # stage 3: the loop is on
  base_actor = build_actor(actor, M)
  for target, source in zip(base_actor.weights, model.actor.weights):
    target.assign(source[:M] if source.shape[0] == M + 16 else source)
  base = AutoencoderModel(base_actor, model.objective)
  history = tf.constant((np.random.default_rng(1).random((5, M)) < 0.4).astype(np.float32))
  # exact: the same M-wide matmul on the same weights, plus exact zeros (0 @ W_v), same ops
  np.testing.assert_array_equal(model.predict_scores(None, history).numpy(),
                                base.predict_scores(None, history).numpy())
  looped = _model(actor=actor, unroll_steps=2, feedback_init="glorot")
  looped.set_weights(model.get_weights())
  looped.epoch.assign(3)
  assert not np.allclose(looped.predict_scores(None, history).numpy(),
                         base.predict_scores(None, history).numpy(), atol=1e-6)


def test_feedback_inputs_start_at_zero_and_the_input_is_m_plus_feedback_wide():
  model = _model()
  kernel = model.actor.encoder_layers[0].kernel.numpy()
  assert kernel.shape[0] == M + 16
  assert np.all(kernel[M:] == 0) and np.any(kernel[:M] != 0)
  with pytest.raises(InputError, match="must read"):
    CFSFL(build_actor("vae", M), actor_objective("vae"), CFSFLConfig(**SMALL))
  with pytest.raises(InputError, match="feedback_init"):
    CFSFLConfig(feedback_init="ones")
  with pytest.raises(InputError, match=">= 0"):
    CFSFLConfig(unroll_steps=-1)


@pytest.mark.parametrize("feedback_history", ["full", "observed"])
def test_the_virtual_user_sees_the_dropped_items_only_with_full_history(feedback_history):
  """In training, "observed" feeds h(x, a) only the items the recommender's input kept: the
  loop's output then cannot depend on a dropped item; at evaluation both see the whole row."""
  model = _model(feedback_history=feedback_history, feedback_init="glorot")
  history = tf.constant(np.eye(2, M, dtype=np.float32) + np.eye(2, M, 3, dtype=np.float32))
  mask = tf.constant(np.eye(2, M, dtype=np.float32) + np.eye(2, M, 5, dtype=np.float32))
  extra = history + tf.constant(np.eye(2, M, 7, dtype=np.float32))  # one more dropped item
  seen = model.virtual_user_history(history, mask).numpy()
  if feedback_history == "observed":
    np.testing.assert_array_equal(seen, history.numpy() * mask.numpy())
  else:
    np.testing.assert_array_equal(seen, history.numpy())
  np.testing.assert_array_equal(model.virtual_user_history(history), history.numpy())

  def feedback_of(rows):
    seen = model.virtual_user_history(rows, mask)
    return model.virtual_user.feedback(seen, tf.fill([2, M], 1.0 / M)).numpy()

  same = np.allclose(feedback_of(history), feedback_of(extra), atol=1e-6)
  assert same == (feedback_history == "observed")
  with pytest.raises(InputError, match="feedback_history"):
    CFSFLConfig(feedback_history="all")


def test_stage_follows_epoch():
  model = _model(recommender_epochs=2, reward_epochs=1, joint_epochs=2)
  stages = []
  for epoch in range(5):
    model.epoch.assign(epoch)
    stages.append(int(model.stage().numpy()))
  assert stages == [1, 1, 2, 3, 3]


def test_reward_step_changes_only_the_reward_estimator():
  model = _model()
  history = next(iter(_rows()(0)))["history"]
  groups = _groups(model)
  before = {name: _values(variables) for name, variables in groups.items()}
  model.reward_step(history, model.sample_mask(history), steps=2)
  assert all(_changed(before["reward"], groups["reward"]))
  assert not any(_changed(before["actor"], groups["actor"]))
  assert not any(_changed(before["feedback"], groups["feedback"]))


def test_stages_move_the_right_variables():
  model, rows = _model(), _rows()
  groups = _groups(model)
  first = model.actor.encoder_layers[0].kernel

  before = {name: _values(variables) for name, variables in groups.items()}
  logs = _train_epoch(model, rows, 0)  # stage 1: recommender only, v = 0
  assert all(_changed(before["actor"], groups["actor"]))
  assert not any(_changed(before["reward"], groups["reward"]))
  assert not any(_changed(before["feedback"], groups["feedback"]))
  assert np.all(first.numpy()[M:] == 0)  # no feedback reaches the recommender yet
  assert logs["loss"][0] > 0 and logs["reward_loss"][0] == 0

  before = {name: _values(variables) for name, variables in groups.items()}
  logs = _train_epoch(model, rows, 1)  # stage 2: reward estimator only
  assert not any(_changed(before["actor"], groups["actor"]))
  assert all(_changed(before["reward"], groups["reward"]))
  assert not any(_changed(before["feedback"], groups["feedback"]))
  assert logs["reward_loss"][0] > 0 and logs["loss"][0] == 0

  before = {name: _values(variables) for name, variables in groups.items()}
  # stage 3: everything, through the loop. F's first step has a zero gradient
  # (the recommender's feedback weights start at zero); it moves from the second.
  _train_epoch(model, rows, 2)
  logs = _train_epoch(model, rows, 3)
  assert all(_changed(before["actor"], groups["actor"]))
  assert np.any(first.numpy()[M:] != 0)
  assert all(_changed(before["reward"], groups["reward"]))
  assert all(_changed(before["feedback"], groups["feedback"]))
  assert logs["neg_log_reward"][0] > 0 and logs["reward_loss"][0] > 0


def test_stage3_recommender_step_leaves_the_reward_estimator_alone():
  model, rows = _model(reward_learning_rate=0.0), _rows()
  groups = _groups(model)
  before = {name: _values(variables) for name, variables in groups.items()}
  for epoch in (2, 3):
    _train_epoch(model, rows, epoch)
  assert not any(_changed(before["reward"], groups["reward"]))  # B included
  assert all(_changed(before["actor"], groups["actor"]))
  assert all(_changed(before["feedback"], groups["feedback"]))


def test_resume_mid_stage_continues_the_schedule(tmp_path):
  rows = _rows()
  model = _model()
  for epoch in range(3):  # recommender, reward estimator, first joint epoch
    _train_epoch(model, rows, epoch)
  path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
  _train_epoch(model, rows, 3)

  resumed = _model(init_seed=99)  # different initial weights, all restored
  tf.train.Checkpoint(model=resumed).read(path).assert_consumed()
  assert int(resumed.step.numpy()) == 3
  _train_epoch(resumed, rows, 3)
  assert int(resumed.stage().numpy()) == 3
  assert int(resumed.step.numpy()) == int(model.step.numpy()) == 4
  for a, b in zip(model.variables, resumed.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
  for optimizer in ("actor_optimizer", "reward_optimizer", "feedback_optimizer"):
    for a, b in zip(getattr(model, optimizer).variables, getattr(resumed, optimizer).variables):
      np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def _tiny_vaecf_split(directory, num_items=25):
  """A Mult-VAE split directory: 30 training users, 6 validation and 6 test users."""
  rng = np.random.default_rng(0)
  os.makedirs(directory)
  with open(os.path.join(directory, "unique_sid.txt"), "w") as f:
    f.write("".join(f"{100 + i}\n" for i in range(num_items)))

  def write(name, users, density):
    with open(os.path.join(directory, name), "w") as f:
      f.write("uid,sid\n")
      for user in users:
        items = np.flatnonzero(rng.random(num_items) < density)
        f.write("".join(f"{user},{item}\n" for item in items))

  write("train.csv", range(30), 0.3)
  for part, users in (("validation", range(30, 36)), ("test", range(36, 42))):
    write(f"{part}_tr.csv", users, 0.3)
    write(f"{part}_te.csv", users, 0.15)


def test_binary_trains_and_writes_results(tmp_path):
  _tiny_vaecf_split(tmp_path / "data")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, BINARY, f"--dataset={tmp_path / 'data'}",
       f"--output_dir={tmp_path / 'out'}", "--recommender=dae", "--recommender_epochs=1",
       "--reward_epochs=1", "--joint_epochs=1", "--unroll_steps=2", "--batch_size=15"],
      capture_output=True, text=True, env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / "out" / "results.json") as f:
    results = json.load(f)
  assert results["method"] == "cfsfl" and results["protocol"] == "strong"
  assert [entry["epoch"] for entry in results["history"]] == [1, 2, 3]
  assert results["history"][2]["neg_log_reward"] > 0
  assert set(results["metrics"]["test"]) >= {"recall@20", "recall@50", "ndcg@100"}
  report = results["cfsfl"]
  assert report["stage_epochs"] == {"recommender": 1, "reward": 1, "joint": 1}
  assert report["unroll_steps"] == 2 and report["recommender"] == "dae"
  assert report["selected_stage"] in (1, 2, 3)
  assert set(report["no_feedback"]) == {"valid", "test"}
  pretrained = results["milestones"]["pretrained"]
  assert pretrained["epochs"] == 1 and pretrained["best_epoch"] == 1
  assert pretrained["paired_test"]["ndcg@100"]["n"] > 0
  assert results["config"]["method_config"]["l2"] == 0.01
