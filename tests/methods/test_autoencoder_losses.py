"""Autoencoders trained with a TF-Ranking reconstruction term (sampled lists or full catalogue)."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.losses import ranking
from tfrankcf.losses.full_catalogue import FullCatalogueApproxNDCG
from tfrankcf.losses.reconstruction import LIST_LOSSES, get_reconstruction, multinomial_nll
from tfrankcf.losses.sampled_lists import SampledListLoss
from tfrankcf.methods import autoencoder
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective

M = 30


def _rows():
  rng = np.random.default_rng(0)
  matrix = sp.csr_matrix((rng.random((40, M)) < 0.3).astype(np.float32))
  return UserRows(matrix, batch_size=10, seed=0)


def _model(name="vae", **overrides):
  tf.keras.utils.set_random_seed(0)
  model = AutoencoderModel(build_actor(name, M), actor_objective(name, **overrides), seed=7)
  model.compile(optimizer=model.actor_optimizer)
  return model


def test_terms_by_name():
  assert get_reconstruction("multinomial") is multinomial_nll
  term = get_reconstruction("listmle", list_size=16)
  assert isinstance(term, SampledListLoss) and term.list_size == 16 and term.stochastic
  assert isinstance(term.loss, ranking.ListMLE)
  full = get_reconstruction("approx_ndcg", candidates="all", memory_budget_mb=8)
  assert isinstance(full, FullCatalogueApproxNDCG) and full.memory_budget_mb == 8
  assert "logloss" not in LIST_LOSSES and "neural_sort" in LIST_LOSSES


@pytest.mark.parametrize("name,options,message", [
    ("lambdamart", {}, "unknown reconstruction loss 'lambdamart'"),
    ("logloss", {}, "unknown reconstruction loss 'logloss'"),
    ("listmle", {"candidates": "all"}, "candidates=all supports only approx_ndcg, not 'listmle'"),
    ("multinomial", {"candidates": "all"}, "not 'multinomial'"),
    ("softmax", {"candidates": "some"}, "unknown candidates 'some'"),
])
def test_bad_terms_are_one_line_input_errors(name, options, message):
  with pytest.raises(InputError, match=message) as error:
    get_reconstruction(name, **options)
  assert "\n" not in str(error.value)
  with pytest.raises(InputError, match=message):
    AutoencoderModel(build_actor("vae", M), actor_objective("vae", reconstruction=name, **options))


def test_the_step_draws_the_lists_from_the_run_seed_and_step():
  model = _model(reconstruction="listmle", list_size=12)
  history = tf.constant((np.random.default_rng(1).random((6, M)) < 0.3), tf.float32)
  logits = tf.random.stateless_normal([6, M], [1, 2])
  model.step.assign(3)
  got = model.reconstruction_loss(history, logits).numpy()
  want = model.reconstruction(history, logits, seed=model.noise_seed(4)).numpy()
  np.testing.assert_array_equal(got, want)  # the same op on the same seed: bit-exact
  model.step.assign(4)
  assert not np.array_equal(got, model.reconstruction_loss(history, logits).numpy())
  other = AutoencoderModel(model.actor, model.objective, seed=8)
  other.step.assign(3)
  assert not np.array_equal(got, other.reconstruction_loss(history, logits).numpy())


@pytest.mark.parametrize("name,overrides", [
    ("vae", {"reconstruction": "listmle", "list_size": 10}),
    ("vae", {"reconstruction": "gumbel_approx_ndcg", "list_size": 10}),
    ("dae", {"reconstruction": "softmax", "list_size": 10}),
    ("vae", {"reconstruction": "approx_ndcg", "candidates": "all", "memory_budget_mb": 0.01}),
])
def test_ranking_terms_train_with_kl_and_annealing(name, overrides):
  model = _model(name, anneal_steps=4, **overrides)
  rows = _rows()
  history = rows.rows(tf.range(rows.num_users, dtype=tf.int64))

  def training_term():  # the term on every training row, lists of a fixed step
    step = model.step.numpy()
    model.step.assign(0)
    value = float(tf.reduce_mean(model.reconstruction_loss(history, model.forward(history)[0])))
    model.step.assign(step)
    return value

  before = training_term()
  logs = [model.fit(rows(epoch), verbose=0).history for epoch in range(12)]
  assert int(model.step.numpy()) == 12 * 4
  assert all(np.isfinite(log["loss"][0]) for log in logs)
  assert training_term() < before
  if name == "vae":
    assert logs[-1]["beta"][0] == pytest.approx(0.2, rel=1e-6, abs=1e-7)  # annealing kept
    assert logs[-1]["kl"][0] > 0.0


def test_a_resumed_step_repeats_the_lists():
  rows = _rows()
  first = _model(reconstruction="pairwise_logistic", list_size=10)
  first.fit(rows(0), verbose=0)
  weights = [v.numpy() for v in first.actor.trainable_variables]
  second = _model(reconstruction="pairwise_logistic", list_size=10)
  for variable, value in zip(second.actor.trainable_variables, weights):
    variable.assign(value)
  second.step.assign(first.step)
  batch = next(iter(rows(1)))
  history = batch["history"]
  logits, _ = first.forward(history)
  # exact: the same op on the same seed and inputs, in one process
  np.testing.assert_array_equal(first.reconstruction_loss(history, logits).numpy(),
                                second.reconstruction_loss(history, logits).numpy())


def test_actor_settings_carry_the_term_options():
  config = autoencoder.AutoencoderConfig(actor="dae", loss="approx_ndcg", candidates="all",
                                         memory_budget_mb=64.0)
  model = AutoencoderModel(autoencoder.actor_for(M, config),
                           autoencoder.objective_for(config, **config.reconstruction_overrides()))
  assert isinstance(model.reconstruction, FullCatalogueApproxNDCG)
  assert model.reconstruction.memory_budget_mb == 64.0
  config = autoencoder.AutoencoderConfig(loss="neural_sort", list_size=6)
  model = AutoencoderModel(autoencoder.actor_for(M, config),
                           autoencoder.objective_for(config, **config.reconstruction_overrides()))
  assert model.reconstruction.list_size == 6 and model.objective.reconstruction == "neural_sort"
