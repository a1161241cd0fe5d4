"""Sparse history batches: the same training as dense rows, for Mult-VAE/DAE, RaCT and CF-SFL.

A dense run and a sparse run draw their dropout masks from different streams
(one uniform per entry of [B, M], one per non-zero); `_DenseSparseStream`
makes a dense run draw the sparse run's mask, so that whole epochs with
dropout and latent noise can be compared.
"""

import types

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor, dense_rows, is_sparse
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods import autoencoder, registry
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective, dropout_mask
from tfrankcf.methods.cfsfl import (CFSFL, CFSFLConfig, build_cfsfl, recommender_for,
                                   recommender_objective)
from tfrankcf.methods.ract import RaCT, RaCTConfig, build_ract

M = 40
# Sums of 40-600 float32 products in another order: ~1e-6 apart after a few Adam steps.
RTOL, ATOL = 1e-4, 1e-5


def _matrix(num_users=25, density=0.15):
  rng = np.random.default_rng(0)
  dense = (rng.random((num_users, M)) < density).astype(np.float32)
  dense[4] = 0.0  # a user without items
  return sp.csr_matrix(dense)


def _rows(sparse, matrix=None):
  return UserRows(_matrix() if matrix is None else matrix, batch_size=10, seed=1, sparse=sparse)


def _dense_sparse_stream(model_class):
  """`model_class` that, on dense rows, draws the mask of the same rows made sparse."""

  class DenseSparseStream(model_class):

    def sample_mask(self, history):
      sparse = tf.sparse.from_dense(history)  # row-major, as UserRows(sparse=True)
      return dense_rows(dropout_mask(sparse, self.objective.keep_prob, self.noise_seed(0)))

  return DenseSparseStream


def _train(model, rows, epochs):
  logs = []
  for epoch in epochs:
    model.epoch.assign(epoch)
    dataset = rows(epoch)
    model.prepare_epoch(epoch, dataset)
    logs.append(model.fit(dataset, verbose=0).history)
  return logs


def _assert_same_runs(dense, sparse, dense_logs, sparse_logs):
  for d, s in zip(dense_logs, sparse_logs):
    assert d.keys() == s.keys()
    for key in d:
      np.testing.assert_allclose(s[key], d[key], rtol=RTOL, atol=ATOL, err_msg=key)
  for d, s in zip(dense.variables, sparse.variables):
    np.testing.assert_allclose(s.numpy(), d.numpy(), rtol=RTOL, atol=ATOL, err_msg=d.name)


def test_sparse_mask_is_one_draw_per_non_zero_seeded_by_step():
  model = AutoencoderModel(build_actor("vae", M), actor_objective("vae"), seed=7)
  rows = _rows(sparse=True, matrix=sp.csr_matrix(np.ones((200, M), np.float32)))
  history = rows.sparse_rows(tf.range(200, dtype=tf.int64))
  model.step.assign(5)
  mask = model.sample_mask(history)
  assert is_sparse(mask)
  np.testing.assert_array_equal(mask.indices.numpy(), history.indices.numpy())
  values = mask.values.numpy()
  assert set(np.unique(values)) == {0.0, 1.0} and abs(values.mean() - 0.5) < 0.02
  np.testing.assert_array_equal(values, model.sample_mask(history).values.numpy())
  model.step.assign(6)
  assert not np.array_equal(values, model.sample_mask(history).values.numpy())


@pytest.mark.parametrize("name", ["vae", "dae"])  # dae: l2 on the sparse-gradient kernel
def test_an_epoch_on_sparse_rows_trains_as_on_dense_rows(name):
  """Losses, KL, beta and every weight and optimiser slot equal after two epochs."""
  models = []
  for model_class in (_dense_sparse_stream(AutoencoderModel), AutoencoderModel):
    tf.keras.utils.set_random_seed(0)
    model = model_class(build_actor(name, M), actor_objective(name, anneal_steps=4), seed=3)
    model.compile(optimizer=model.actor_optimizer)
    models.append(model)
  dense, sparse = models
  dense_logs = _train(dense, _rows(sparse=False), range(2))
  sparse_logs = _train(sparse, _rows(sparse=True), range(2))
  _assert_same_runs(dense, sparse, dense_logs, sparse_logs)
  for d, s in zip(dense.actor_optimizer.variables, sparse.actor_optimizer.variables):
    np.testing.assert_allclose(s.numpy(), d.numpy(), rtol=RTOL, atol=ATOL)
  assert dense_logs[-1]["loss"][0] > 0


def test_ract_stages_on_sparse_rows_train_as_on_dense_rows():
  """Actor pre-training, the refit, critic pre-training and the shared-pass last stage."""
  models = []
  for model_class in (_dense_sparse_stream(RaCT), RaCT):
    tf.keras.utils.set_random_seed(0)
    model = model_class(build_actor("vae", M), actor_objective("vae", anneal_steps=10),
                        RaCTConfig(actor_epochs=1, critic_epochs=1, ac_epochs=1,
                                   ac_learning_rate=1e-3), seed=3)
    model.compile(optimizer=model.actor_optimizer)
    models.append(model)
  dense, sparse = models
  # The refit draws its own stream per batch: dense rows take the full [B, M] draw,
  # sparse rows the non-zeros'; align it as in training for the comparison.
  dense._statistics_batch = sparse_stream_statistics(dense)  # pylint: disable=protected-access
  dense_logs = _train(dense, _rows(sparse=False), range(3))
  sparse_logs = _train(sparse, _rows(sparse=True), range(3))
  _assert_same_runs(dense, sparse, dense_logs, sparse_logs)
  assert dense_logs[1]["critic_loss"][0] > 0


def sparse_stream_statistics(model):
  """`model._statistics_batch` reading dense rows through their sparse form (same draws)."""
  statistics = type(model)._statistics_batch  # pylint: disable=protected-access

  def batch(history, index):
    return statistics(model, tf.sparse.from_dense(history), index)
  return batch


def test_cfsfl_stages_on_sparse_rows_train_as_on_dense_rows():
  small = {"embedding_dim": 8, "reward_dims": (16, 16, 16), "feedback_dims": (16, 16, 16)}
  config = CFSFLConfig(recommender_epochs=1, reward_epochs=1, joint_epochs=2, unroll_steps=2,
                       feedback_history="observed", anneal_steps=10, **small)
  models = []
  for model_class in (_dense_sparse_stream(CFSFL), CFSFL):
    tf.keras.utils.set_random_seed(0)
    actor = recommender_for(M, config)
    model = model_class(actor, recommender_objective(config, batch_size=10), config, seed=3)
    # eager: the same ops without tracing the loop (the binary test runs it traced)
    model.compile(optimizer=model.actor_optimizer, run_eagerly=True)
    models.append(model)
  dense, sparse = models
  dense_logs = _train(dense, _rows(sparse=False), range(4))
  sparse_logs = _train(sparse, _rows(sparse=True), range(4))
  _assert_same_runs(dense, sparse, dense_logs, sparse_logs)
  assert dense_logs[-1]["neg_log_reward"][0] > 0
  history = _rows(sparse=True).sparse_rows(tf.range(6, dtype=tf.int64))
  np.testing.assert_allclose(sparse.predict_scores(None, history).numpy(),
                             sparse.predict_scores(None, dense_rows(history)).numpy(),
                             rtol=RTOL, atol=ATOL)


def test_scoring_reads_sparse_histories_as_dense_ones():
  tf.keras.utils.set_random_seed(0)
  model = AutoencoderModel(build_actor("vae", M), actor_objective("vae"), seed=3)
  history = _rows(sparse=True).sparse_rows(tf.range(8, dtype=tf.int64))
  np.testing.assert_allclose(model.score_tf(None, history).numpy(),
                             model.predict_scores(None, dense_rows(history)).numpy(),
                             rtol=1e-5, atol=1e-6)


def _split():
  matrix = _matrix()
  return types.SimpleNamespace(train=matrix, num_items=M, num_users=matrix.shape[0])


def _config(method, **fields):
  return types.SimpleNamespace(method=method, method_config=registry.spec(method).config(),
                               seed=0, batch_size=10, eval_batch_size=100, jit_compile=False,
                               **fields)


@pytest.mark.parametrize("build,method", [(autoencoder.build_autoencoder, "vae"),
                                          (build_ract, "ract"), (build_cfsfl, "cfsfl")])
def test_builders_feed_sparse_rows_but_under_xla_or_tf_distribute(build, method):
  assert build(_split(), _config(method)).dataset_fn.sparse
  xla = _config(method)
  xla.jit_compile = True
  assert not build(_split(), xla).dataset_fn.sparse
  strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
  with strategy.scope():
    assert not build(_split(), _config(method)).dataset_fn.sparse
