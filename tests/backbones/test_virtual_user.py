"""CF-SFL's virtual user: the fusion of eq. 16 against numpy, Table 2 shapes, phi/psi split."""

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.virtual_user import Fusion, VirtualUser

M, D = 7, 4


def _history_and_recommendation():
  history = np.array([[1, 0, 1, 1, 0, 0, 0],
                      [0, 0, 0, 0, 0, 0, 0],  # empty history: first term is zero
                      [0, 1, 0, 0, 0, 0, 1]], np.float32)
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, M))
  recommendation = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
  return history, recommendation


def _dense_reference(table, history, recommendation):
  """Eq. 16 written out item by item."""
  fused = np.zeros((len(history), table.shape[1]))
  for u in range(len(history)):
    observed = np.flatnonzero(history[u])
    if len(observed):
      fused[u] += sum(table[j] for j in observed) / len(observed)
    fused[u] += sum(recommendation[u, j] * table[j] for j in range(table.shape[0]))
  return fused


def test_fusion_equals_the_dense_reference_for_dense_and_sparse_histories():
  history, recommendation = _history_and_recommendation()
  fusion = Fusion(M, D)
  want = _dense_reference(fusion.table.numpy().astype(np.float64), history, recommendation)
  dense = fusion(tf.constant(history), tf.constant(recommendation)).numpy()
  sparse = fusion(tf.sparse.from_dense(tf.constant(history)),
                  tf.constant(recommendation)).numpy()
  np.testing.assert_allclose(dense, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sparse, want, rtol=1e-5, atol=1e-6)


def test_table2_shapes_and_feedback():
  user = VirtualUser(M)
  reward_kernels = [v.shape.as_list() for v in user.reward_network.trainable_variables
                    if "kernel" in v.name]
  feedback_kernels = [v.shape.as_list() for v in user.feedback_network.trainable_variables
                      if "kernel" in v.name]
  assert user.fusion.table.shape == (M, 64)
  assert reward_kernels == [[64, 128], [128, 128], [128, 128], [128, 1]]
  assert feedback_kernels == [[65, 128], [128, 128], [128, 128]]
  assert user.feedback_network.layers[-1].activation is tf.keras.activations.linear
  history, recommendation = _history_and_recommendation()
  logits = user.reward_logits(tf.constant(history), tf.constant(recommendation))
  feedback = user.feedback(tf.constant(history), tf.constant(recommendation))
  assert logits.shape == (3,) and feedback.shape == (3, 128)


def test_reward_and_feedback_variables_partition_the_model():
  user = VirtualUser(M, D, reward_dims=(5, 5), feedback_dims=(6, 3))
  reward = {id(v) for v in user.reward_variables}
  feedback = {id(v) for v in user.feedback_variables}
  assert id(user.fusion.table) in reward
  assert not reward & feedback
  assert reward | feedback == {id(v) for v in user.trainable_variables}
  # F's input is [h, R]: d + 1 wide; its output the last feedback width.
  assert user.feedback_network.layers[0].kernel.shape == (D + 1, 6)
  assert user.feedback_dim == 3


def test_feedback_depends_on_the_reward_through_h():
  user = VirtualUser(M, D)
  history, recommendation = _history_and_recommendation()
  history, recommendation = tf.constant(history), tf.constant(recommendation)
  with tf.GradientTape() as tape:
    feedback = user.feedback(history, recommendation)
  gradients = tape.gradient(feedback, user.reward_network.trainable_variables)
  assert all(g is not None for g in gradients)
