"""NeuMF: GMF (x) MLP towers; full-catalogue scores equal candidate scores and a direct formula."""

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.neumf import NeuMF


def _direct(model, user, item):
  """The original's formula for one pair, from the weights (numpy)."""
  (pu, bu), (qi, bi) = model.user_gmf, model.item_gmf
  (mu, bmu), (mi, bmi) = model.user_mlp, model.item_mlp
  gmf = (pu.numpy()[user] + bu.numpy()) * (qi.numpy()[item] + bi.numpy())
  x = np.concatenate([mu.numpy()[user] + bmu.numpy(), mi.numpy()[item] + bmi.numpy()])
  kernel = np.concatenate([model.first_user.numpy(), model.first_item.numpy()])
  x = np.maximum(x @ kernel + model.first_bias.numpy(), 0)
  for layer in model.hidden:
    x = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
  out = model.output_layer
  return float(np.concatenate([gmf, x]) @ out.kernel.numpy()[:, 0] + out.bias.numpy()[0])


def test_scores_match_the_formula_and_full_equals_candidates():
  model = NeuMF(6, 9, gmf_dim=4, mlp_layers=(6, 5, 3), init_stddev=0.5, seed=1)
  users = tf.constant([0, 5, 2], tf.int64)
  items = tf.constant([[1, 8], [0, 0], [3, 7]], tf.int64)
  logits = model(users, items).numpy()
  for variable in model.trainable_variables:  # non-zero biases
    if "bias" in variable.name:
      variable.assign(tf.random.stateless_normal(variable.shape, [0, 1]))
  logits = model(users, items).numpy()
  for b, user in enumerate(users.numpy()):
    for l, item in enumerate(items.numpy()[b]):
      assert abs(logits[b, l] - _direct(model, user, item)) < 1e-5
  full = model.all_item_scores(users)
  assert full.shape == (3, 9)
  np.testing.assert_allclose(tf.gather(full, items, batch_dims=1), logits, rtol=1e-5,
                             atol=1e-6)
  assert len(model.hidden) == 1  # 6 = embedding, 5 = first layer, 3 = second


def test_code_layer_sizes():
  model = NeuMF(3, 4, seed=0)
  model(tf.constant([0], tf.int64), tf.constant([[1]], tf.int64))
  assert model.user_gmf[0].shape == (3, 8) and model.user_mlp[0].shape == (3, 16)
  assert model.first_user.shape == (16, 16)
  assert [layer.units for layer in model.hidden] == [8, 8]
