"""Autoencoder actors: shapes, published layer sizes, input corruption, noise."""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.backbones.autoencoders import ACTORS, build_actor, encoder_input
from tfrankcf.errors import InputError
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective

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
  np.testing.assert_allclose(actor.l2_penalty(1e-4).numpy(), want, rtol=1e-5, atol=1e-9)  # ~5e-3
  assert build_actor("vae", M).l2_penalty(0.0).numpy() == 0.0


def test_bad_names():
  with pytest.raises(InputError, match="unknown actor 'vqvae'"):
    build_actor("vqvae", M)
  with pytest.raises(InputError, match="unknown actor option"):
    build_actor("vae", M, dropout=0.3)
  with pytest.raises(InputError, match="unknown actor option"):  # an objective field
    build_actor("vae", M, keep_prob=0.3)


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


def _sparse_batch(num_users=6, width=M, density=0.3, seed=0):
  """A random sparse batch with non-binary values and an empty row, and its dense copy."""
  rng = np.random.default_rng(seed)
  dense = ((rng.random((num_users, width)) < density) * rng.uniform(0.5, 2.0, (num_users, width))
           ).astype(np.float32)
  dense[2] = 0.0
  return tf.sparse.from_dense(dense), tf.constant(dense)


def test_sparse_encoder_input_equals_the_dense_one():
  sparse, dense = _sparse_batch()
  mask = tf.SparseTensor(sparse.indices, tf.constant(
      (np.random.default_rng(1).random(sparse.values.shape[0]) < 0.5).astype(np.float32)),
      sparse.dense_shape)
  for args in ((), (0.5,)):
    got = encoder_input(sparse, *((mask,) + args if args else ()))
    want = encoder_input(dense, *((tf.sparse.to_dense(mask),) + args if args else ()))
    # one row norm per user, summed in another order: float32 rounding only
    np.testing.assert_allclose(tf.sparse.to_dense(got).numpy(), want.numpy(), rtol=1e-6,
                               atol=1e-7)
  assert got.values.shape[0] == int(mask.values.numpy().sum())  # dropped entries removed


@pytest.mark.parametrize("name", sorted(ACTORS))
def test_sparse_inputs_give_the_dense_forward_and_gradients(name):
  """Logits, KL, the reconstruction term and every weight's gradient; the first kernel's
  gradient is IndexedSlices of the present items' rows only."""
  actor = build_actor(name, M)
  term = AutoencoderModel(actor, actor_objective(name)).reconstruction_term  # the actor's own
  sparse, dense = _sparse_batch()
  sparse, dense = encoder_input(sparse), encoder_input(dense)
  labels_sparse, labels_dense = _sparse_batch(seed=3)
  seed = tf.constant([1, 2], tf.int64)
  for training in (False, True):
    with tf.GradientTape(persistent=True) as tape:
      got = actor(sparse, training=training, seed=seed)
      want = actor(dense, training=training, seed=seed)
      got_loss = tf.reduce_sum(term(labels_sparse, got[0]) + got[1])
      want_loss = tf.reduce_sum(term(labels_dense, want[0]) + want[1])
    for g, w in zip(got + (got_loss,), want + (want_loss,)):
      np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)
    variables = actor.trainable_variables
    got_gradients = tape.gradient(got_loss, variables)
    for variable, g, w in zip(variables, got_gradients, tape.gradient(want_loss, variables)):
      np.testing.assert_allclose(tf.convert_to_tensor(g).numpy(), w.numpy(), rtol=1e-4,
                                 atol=1e-5, err_msg=variable.name)
    first = [g for v, g in zip(variables, got_gradients)
             if v is actor.input_layers[0].kernel][0]
    assert isinstance(first, tf.IndexedSlices)
    assert set(first.indices.numpy()) == set(sparse.indices[:, 1].numpy())


@pytest.mark.parametrize("name", ["vae", "dae"])
def test_sparse_leading_products_equal_the_dense_ones(name):
  """CF-SFL's x part of a [x, v] input, once per batch: sparse or dense, the same."""
  actor = build_actor(name, M, input_width=M + 5)
  sparse, dense = _sparse_batch()
  for g, w in zip(actor.input_products(sparse), actor.input_products(dense)):
    np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
  wide = tf.SparseTensor(sparse.indices, sparse.values, [6, M + 5])
  want = actor(tf.concat([dense, tf.zeros([6, 5])], axis=1))
  for g, w in zip(actor(wide), want):
    np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


def test_the_actor_checkpoint_keys_are_its_layer_attributes():
  """Checkpoints name the actor's variables by attribute: these paths are the format."""
  checkpoint = tf.train.Checkpoint(actor=build_actor("vae", M))
  path = checkpoint.write(os.path.join(tempfile.mkdtemp(), "actor"))
  keys = {key for key, _ in tf.train.list_variables(path) if key.startswith("actor/")}
  assert keys == {f"actor/{layer}/{weight}/.ATTRIBUTES/VARIABLE_VALUE"
                  for layer in ("encoder_layers/0", "mean_layer", "log_variance_layer",
                                "decoder_layers/0", "output_layer")
                  for weight in ("kernel", "bias")}
