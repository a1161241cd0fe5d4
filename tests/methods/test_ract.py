"""RaCT: stage schedule, which weights each stage moves, the Oracle, resume."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import actor_objective
from tfrankcf.methods.ract import RaCT, RaCTConfig
from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet

M = 15


def _matrix():
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((30, M)) < 0.4).astype(np.float32))


def _rows():
  return UserRows(_matrix(), batch_size=10, seed=0)


def _model(init_seed=0, num_items=M, **config):
  tf.keras.utils.set_random_seed(init_seed)
  config = {"actor_epochs": 2, "critic_epochs": 2, "ac_epochs": 2, **config}
  model = RaCT(build_actor("vae", num_items), actor_objective("vae", anneal_steps=100),
               RaCTConfig(**config),
               seed=3)
  model.compile(optimizer=model.actor_optimizer)
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


def _critic_dense(model):
  return [v for v in model.critic.trainable_variables]


def _normalizer(model):
  return model.critic.normalizer.non_trainable_variables


def test_stage_follows_epoch():
  model = _model(actor_epochs=2, critic_epochs=1, ac_epochs=2)
  stages = []
  for epoch in range(5):
    model.epoch.assign(epoch)
    stages.append(int(model.stage().numpy()))
  assert stages == [1, 1, 2, 3, 3]


def test_stage1_moves_actor_and_normalisation_statistics_only():
  model, rows = _model(), _rows()
  actor, critic, stats = (_values(model.actor.trainable_variables),
                          _values(_critic_dense(model)), _values(_normalizer(model)))
  _train_epoch(model, rows, 0)
  assert all(_changed(actor, model.actor.trainable_variables))
  assert not any(_changed(critic, _critic_dense(model)))
  assert all(_changed(stats, _normalizer(model)))


def test_stage2_moves_only_the_critic():
  model, rows = _model(), _rows()
  _train_epoch(model, rows, 0)
  model.prepare_epoch(2, rows(2))  # the stage boundary's refit, checked below
  actor, critic, stats = (_values(model.actor.trainable_variables),
                          _values(_critic_dense(model)), _values(_normalizer(model)))
  logs = _train_epoch(model, rows, 2)
  assert not any(_changed(actor, model.actor.trainable_variables))
  assert all(_changed(critic, _critic_dense(model)))
  assert not any(_changed(stats, _normalizer(model)))
  assert logs["critic_loss"][0] > 0


@pytest.mark.parametrize("sequential", [False, True])
def test_stage3_actor_step_moves_only_the_actor(sequential):
  # critic lr 0: only the actor-through-critic step can move anything.
  model, rows = _model(critic_learning_rate=0.0, sequential=sequential), _rows()
  actor, critic = _values(model.actor.trainable_variables), _values(_critic_dense(model))
  _train_epoch(model, rows, 4)
  assert any(_changed(actor, model.actor.trainable_variables))
  assert not any(_changed(critic, _critic_dense(model)))
  # ac lr 0: only the critic step moves.
  model = _model(ac_learning_rate=0.0, sequential=sequential)
  model.prepare_epoch(4, rows(4))
  actor, critic = _values(model.actor.trainable_variables), _values(_critic_dense(model))
  stats = _values(_normalizer(model))
  _train_epoch(model, rows, 4)
  assert not any(_changed(actor, model.actor.trainable_variables))
  assert all(_changed(critic, _critic_dense(model)))
  assert not any(_changed(stats, _normalizer(model)))


@pytest.mark.parametrize("stage3", ["warp", "lambdarank"])
def test_alternative_last_stage_moves_only_the_actor(stage3):
  model, rows = _model(stage3=stage3), _rows()
  actor, critic = _values(model.actor.trainable_variables), _values(_critic_dense(model))
  _train_epoch(model, rows, 4)
  assert any(_changed(actor, model.actor.trainable_variables))
  assert not any(_changed(critic, _critic_dense(model)))


class _FixedScores:
  def __init__(self, scores):
    self.scores = scores

  def score(self, user_index, history, items=None):
    del history, items
    return self.scores[np.asarray(user_index)]


@pytest.mark.parametrize("target", ["ndcg@100", "recall@100"])
def test_oracle_equals_the_metrics_module(target):
  num_items, num_users = 160, 9
  rng = np.random.default_rng(2)
  history = (rng.random((num_users, num_items)) < 0.3).astype(np.float32)
  mask = (rng.random((num_users, num_items)) < 0.5).astype(np.float32)
  observed, heldout = history * mask, history * (1 - mask)
  heldout[0] = 0.0  # no held-out item
  logits = rng.normal(size=(num_users, num_items)).astype(np.float32)
  model = _model(num_items=num_items, critic_target=target)
  got = model.true_metric(tf.constant(logits), tf.constant(observed),
                          tf.constant(heldout)).numpy()
  eval_set = EvalSet(user_index=np.arange(num_users), inputs=sp.csr_matrix(observed),
                     targets=sp.csr_matrix(heldout), exclude=sp.csr_matrix(observed))
  want = evaluate(_FixedScores(logits), eval_set, ks=(100,)).per_user[target]
  np.testing.assert_allclose(got, np.nan_to_num(want), rtol=1e-5, atol=1e-6)  # NaN: no target
  assert got[0] == 0.0


def test_critic_feature_subsets_and_bad_config():
  model = _model(critic_features=("nll", "observed"))
  assert model.critic.hidden_layers[0].kernel.shape[0] == 2
  with pytest.raises(InputError, match="critic features"):
    RaCTConfig(critic_features=("nll", "ndcg"))
  with pytest.raises(InputError, match="unknown critic target"):
    RaCTConfig(critic_target="map@100")
  with pytest.raises(InputError, match="unknown stage3"):
    RaCTConfig(stage3="bpr")


def test_resume_mid_stage_continues_the_schedule(tmp_path):
  rows = _rows()
  model = _model()
  for epoch in range(3):  # two actor epochs, then one of the two critic epochs
    _train_epoch(model, rows, epoch)
  path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
  _train_epoch(model, rows, 3)

  resumed = _model(init_seed=99)  # different initial weights, all restored
  tf.train.Checkpoint(model=resumed).read(path).assert_consumed()
  assert int(resumed.step.numpy()) == 9
  np.testing.assert_allclose(resumed.beta().numpy(), 9 / 100, rtol=1e-6, atol=1e-7)
  _train_epoch(resumed, rows, 3)
  assert int(resumed.stage().numpy()) == 2
  assert int(resumed.step.numpy()) == int(model.step.numpy()) == 12
  np.testing.assert_allclose(resumed.beta().numpy(), model.beta().numpy(), rtol=1e-6, atol=1e-7)
  for a, b in zip(model.variables, resumed.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
  for a, b in zip(model.critic_optimizer.variables, resumed.critic_optimizer.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_critic_correlation_on_an_eval_set():
  model, rows = _model(), _rows()
  for epoch in range(3):
    _train_epoch(model, rows, epoch)
  rng = np.random.default_rng(4)
  inputs = sp.csr_matrix((rng.random((12, M)) < 0.4).astype(np.float32))
  targets = sp.csr_matrix(((rng.random((12, M)) < 0.3) & (inputs.toarray() == 0))
                          .astype(np.float32))
  eval_set = EvalSet(np.full(12, -1), inputs, targets, inputs)
  result = model.critic_correlation(eval_set, batch_size=5)
  assert result["correlation_users"] == int((np.diff(targets.indptr) > 0).sum())
  assert -1 <= result["critic_pearson_ndcg@100"] <= 1
  assert -1 <= result["nll_pearson_ndcg@100"] <= 1


def test_stage2_refits_the_critic_statistics_once_on_the_frozen_actor():
  rows = _rows()
  model = _model()
  for epoch in range(2):
    _train_epoch(model, rows, epoch)
  assert not bool(model.statistics_refit.numpy())
  actor_before = _values(model.actor.variables)
  model.prepare_epoch(2, rows(2))
  assert not any(_changed(actor_before, model.actor.variables))
  mean = model.critic.normalizer.moving_mean.numpy()
  variance = model.critic.normalizer.moving_variance.numpy()
  # features: nll, held-out count, observed count; the counts add up to the row sizes
  np.testing.assert_allclose(mean[1] + mean[2], _matrix().sum() / rows.num_users,
                             rtol=1e-5, atol=1e-6)
  assert mean[0] > 1.0 and np.all(variance > 0)
  assert bool(model.statistics_refit.numpy())
  model.prepare_epoch(3, rows(3))  # once per run
  np.testing.assert_array_equal(model.critic.normalizer.moving_mean.numpy(), mean)


def test_moving_statistics_are_the_codes_behaviour():
  rows = _rows()
  model = _model(critic_statistics="moving")
  for epoch in range(2):
    _train_epoch(model, rows, epoch)
  before = model.critic.normalizer.moving_mean.numpy().copy()
  _train_epoch(model, rows, 2)
  np.testing.assert_array_equal(model.critic.normalizer.moving_mean.numpy(), before)
  with pytest.raises(InputError, match="unknown critic statistics"):
    RaCTConfig(critic_statistics="exact")
  with pytest.raises(InputError, match="unknown critic start"):
    RaCTConfig(critic_start="first")
