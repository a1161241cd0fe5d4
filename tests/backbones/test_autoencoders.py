"""Autoencoder actors: shapes, published layer sizes, input corruption, noise."""

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.backbones.autoencoders import ACTORS, build_actor, encoder_input
from tfrankcf.errors import InputError

M = 12


@pytest.mark.parametrize("name", sorted(ACTORS))
def test_shapes_and_kl(name):
  actor = build_actor(name, M)
  inputs = tf.random.stateless_uniform([4, M], seed=[0, 1])
  logits, kl = actor(inputs, training=True, seed=tf.constant([1, 2], tf.int64))
  assert logits.shape == (4, M) and kl.shape == (4,)
  if ACTORS[name].variational:
    assert np.all(kl.numpy() > 0)
  else:
    assert np.all(kl.numpy() == 0)


def test_mult_vae_layers_and_init():
  actor = build_actor("vae", M)
  kernels = {v.name.split("/")[-2]: v.shape.as_list()
             for v in actor.trainable_variables if "kernel" in v.name}
  assert kernels == {"encoder_0": [M, 600], "latent_mean": [600, 200],
                     "latent_log_variance": [600, 200], "decoder_0": [200, 600],
                     "logits": [600, M]}
  biases = np.concatenate([v.numpy().ravel() for v in actor.trainable_variables
                           if "bias" in v.name])
  assert 0 < np.abs(biases).max() <= 0.002  # truncated normal, std 0.001


def test_dae_hidden_width_and_input_width():
  dae = build_actor("dae", M, latent_dim=600)
  assert [v.shape.as_list() for v in dae.trainable_variables if "kernel" in v.name] == [
      [M, 600], [600, M]]
  wide = build_actor("vae", M, input_width=M + 5)  # CF-SFL: [history, feedback]
  logits, _ = wide(tf.zeros([2, M + 5]))
  assert logits.shape == (2, M)


def test_evaluation_uses_the_mean_and_training_noise_follows_the_seed():
  actor = build_actor("vae", M)
  inputs = tf.random.stateless_uniform([3, M], seed=[3, 4])
  np.testing.assert_array_equal(actor(inputs)[0], actor(inputs)[0])  # same call: bit-exact
  seed = tf.constant([5, 6], tf.int64)
  first = actor(inputs, training=True, seed=seed)[0]
  np.testing.assert_array_equal(first, actor(inputs, training=True, seed=seed)[0])  # same call
  other = actor(inputs, training=True, seed=tf.constant([5, 7], tf.int64))[0]
  assert not np.allclose(first, other, atol=1e-6)
  assert not np.allclose(first, actor(inputs)[0], atol=1e-6)


def test_encoder_input_normalises_the_full_row_then_masks():
  history = np.array([[1, 1, 1, 1, 0], [0, 1, 0, 0, 0]], np.float32)
  mask = np.array([[1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], np.float32)
  got = encoder_input(history, mask, keep_prob=0.5).numpy()
  want = history / np.linalg.norm(history, axis=1, keepdims=True) * mask / 0.5
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(encoder_input(history).numpy(),
                             history / np.linalg.norm(history, axis=1, keepdims=True),
                             rtol=1e-6, atol=1e-7)


def test_l2_penalty_covers_kernels_only():
  actor = build_actor("mf", M)
  want = 1e-4 * sum(np.sum(v.numpy() ** 2) for v in actor.trainable_variables
                    if "kernel" in v.name)
  np.testing.assert_allclose(actor.l2_penalty().numpy(), want, rtol=1e-5, atol=1e-9)  # ~5e-3
  assert build_actor("vae", M).l2_penalty().numpy() == 0.0


def test_bad_names():
  with pytest.raises(InputError, match="unknown actor 'vqvae'"):
    build_actor("vqvae", M)
  with pytest.raises(InputError, match="unknown actor option"):
    build_actor("vae", M, dropout=0.3)


@pytest.mark.parametrize("name", sorted(ACTORS))
def test_leading_products_give_the_full_input_forward(name):
  """CF-SFL's loop computes x's part of the first layer once: same logits and KL."""
  actor = build_actor(name, M, input_width=M + 5)
  rng = np.random.default_rng(2)
  leading = tf.constant(rng.random((4, M)).astype(np.float32))
  trailing = tf.constant(rng.normal(size=(4, 5)).astype(np.float32))
  seed = tf.constant([1, 2], tf.int64)
  for training in (False, True):
    want = actor(tf.concat([leading, trailing], axis=1), training=training, seed=seed)
    got = actor(trailing, training=training, seed=seed,
                leading_products=actor.input_products(leading))
    for w, g in zip(want, got):
      # the split first layer sums in another order: ~2e-7 off on logits near 0 here
      np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=5e-6)
