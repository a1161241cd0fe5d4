"""AutoencoderModel: per-batch KL annealing, dropout mask, scoring, training."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import ACTORS, build_actor, encoder_input
from tfrankcf.errors import InputError
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.losses.reconstruction import gaussian_nll
from tfrankcf.losses.sampled_lists import SampledListLoss
from tfrankcf.methods.autoencoder import (OBJECTIVES, ActorObjective, AutoencoderModel,
                                          actor_objective)

M = 15


def _rows(num_users=30, batch_size=10):
  rng = np.random.default_rng(0)
  matrix = sp.csr_matrix((rng.random((num_users, M)) < 0.3).astype(np.float32))
  return UserRows(matrix, batch_size=batch_size, seed=0)


def _model(name="vae", **overrides):
  tf.keras.utils.set_random_seed(0)
  model = AutoencoderModel(build_actor(name, M), actor_objective(name, **overrides), seed=7)
  model.compile(optimizer=model.actor_optimizer)
  return model


def test_beta_follows_the_per_batch_schedule_and_caps():
  model = _model(anneal_steps=10, beta_max=0.25)
  rows = _rows()  # 3 batches per epoch
  history = model.fit(rows(0), verbose=0).history
  assert int(model.step.numpy()) == 3
  # beta of batch t is min(t / 10, cap), t counted from 1
  np.testing.assert_allclose(history["beta"][0], np.mean([0.1, 0.2, 0.25]), rtol=1e-6,
                             atol=1e-7)
  for step, want in [(0, 0.0), (2, 0.2), (2, 0.2), (3, 0.25), (10_000, 0.25)]:
    model.step.assign(step)
    np.testing.assert_allclose(model.beta().numpy(), want, rtol=1e-6, atol=1e-7)


def test_epoch_based_schedule():
  model = _model(anneal_epochs=4, beta_max=0.2)
  for epoch, want in [(0, 0.0), (2, 0.1), (4, 0.2), (9, 0.2)]:
    model.epoch.assign(epoch)
    np.testing.assert_allclose(model.beta().numpy(), want, rtol=1e-6, atol=1e-7)


def test_dropout_mask_is_seeded_by_step_and_keeps_half():
  model = _model()
  history = tf.ones([200, M])
  model.step.assign(5)
  mask = model.sample_mask(history).numpy()
  assert set(np.unique(mask)) == {0.0, 1.0}
  assert abs(mask.mean() - 0.5) < 0.05
  np.testing.assert_array_equal(mask, model.sample_mask(history).numpy())
  model.step.assign(6)
  assert not np.array_equal(mask, model.sample_mask(history).numpy())


def test_training_forward_masks_the_normalised_row():
  model = _model()
  history = tf.constant((np.random.default_rng(1).random((4, M)) < 0.5), tf.float32)
  mask = model.sample_mask(history)
  logits, _ = model.forward(history, mask, training=True)
  want, _ = model.actor(encoder_input(history, mask, 0.5), training=True,
                        seed=model.noise_seed(1))
  np.testing.assert_allclose(logits.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_scores_are_deterministic_and_use_the_history():
  model = _model()
  history = sp.csr_matrix(np.eye(3, M, dtype=np.float32))
  first = model.score(np.array([-1, -1, -1]), history)
  # exact: the same rows through the same kernels twice; the user ids are ignored
  np.testing.assert_array_equal(first, model.score(np.array([0, 1, 2]), history))
  want, _ = model.actor(encoder_input(tf.constant(history.toarray())))
  # another batch path: logits ~1e-3..0.16 from 600-wide sums differ by ~1e-7 across CPUs
  np.testing.assert_allclose(first, want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["vae", "dae", "mf", "warp"])
def test_training_lowers_the_loss(name):
  model = _model(name)
  rows = _rows()
  losses = [model.fit(rows(epoch), verbose=0).history["loss"][0] for epoch in range(15)]
  assert losses[-1] < losses[0]


def test_every_actor_has_its_objective_and_the_published_ones_are_kept():
  assert set(OBJECTIVES) == set(ACTORS)
  assert OBJECTIVES["vae"] == ActorObjective()
  assert OBJECTIVES["dae"].l2 == 0.01 / 500  # vae_cf: lambda 0.01 per batch of 500
  assert OBJECTIVES["vae_beta0"].l2 == 1e-5
  assert OBJECTIVES["mf"] == ActorObjective(reconstruction="gaussian", l2=1e-4)
  assert OBJECTIVES["warp"] == ActorObjective(reconstruction="warp", l2=1e-4)
  assert OBJECTIVES["vae_gaussian"].reconstruction == "gaussian"
  assert all(o.keep_prob == 0.5 and o.anneal_steps == 200_000 for o in OBJECTIVES.values())


def test_objective_options_are_checked():
  assert actor_objective("mf", keep_prob=0.8) == ActorObjective(reconstruction="gaussian",
                                                                 l2=1e-4, keep_prob=0.8)
  with pytest.raises(InputError, match="unknown actor 'vqvae'"):
    actor_objective("vqvae")
  with pytest.raises(InputError, match="unknown objective option"):
    actor_objective("vae", latent_dim=3)  # an architecture field


def test_the_objective_sets_the_l2_term_of_the_loss():
  model = _model("mf")
  want = 1e-4 * sum(np.sum(v.numpy() ** 2) for v in model.actor.trainable_variables
                    if "kernel" in v.name)
  np.testing.assert_allclose(model.actor.l2_penalty(model.objective.l2).numpy(), want,
                             rtol=1e-5, atol=1e-9)
  assert model.objective.l2 == 1e-4 and model.reconstruction is gaussian_nll


def test_a_term_xla_cannot_compile_is_reported_by_the_model():
  assert _model("vae").jit_compile_blockers == []
  model = _model("vae", reconstruction="listmle", list_size=10)
  assert model.jit_compile_blockers == [SampledListLoss.jit_compile_blocker]
  assert not model.supports_jit_compile
