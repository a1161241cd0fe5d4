"""APR: per-row fast-gradient perturbations, the eq. 10 gradient and the schedule."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.inputs.triplets import Triplets
from tfrankcf.losses.pairwise import bpr_loss
from tfrankcf.methods.apr import APR, APRConfig, adversarial_perturbations, build_apr
from tfrankcf.methods.bpr import BPR, BPRConfig
from tfrankcf.protocols import make_split
from tfrankcf.training.config import RunConfig


def _batch(users, positives, negatives):
  return {"user_index": tf.constant(users, tf.int64),
          "positive": tf.constant(positives, tf.int64),
          "negative": tf.constant(negatives, tf.int64)}


def _numpy_perturbation(p, q, users, positives, negatives, eps):
  """Delta tables from the per-row sums of eq. 13 at Delta = 0 (clean loss)."""
  gamma_p, gamma_q = np.zeros_like(p), np.zeros_like(q)
  for u, i, j in zip(users, positives, negatives):
    g = -1.0 / (1.0 + np.exp(p[u] @ (q[i] - q[j])))
    gamma_p[u] += g * (q[i] - q[j])
    gamma_q[i] += g * p[u]
    gamma_q[j] -= g * p[u]
  def normalise(rows):
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return eps * np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
  return normalise(gamma_p), normalise(gamma_q)


def _perturbed(model, batch, eps=0.5):
  vectors = model.lookup(batch)
  return vectors, adversarial_perturbations(batch["user_index"], batch["positive"],
                                            batch["negative"], *vectors, eps=eps)


def test_perturbation_is_eps_per_row_and_sums_duplicate_items():
  model = APR(4, 6, APRConfig(embedding_dim=3, init_stddev=0.5), seed=0)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  users, positives, negatives = [0, 1, 0], [3, 2, 5], [1, 3, 3]  # item 3: positive and negative
  _, (d_u, d_i, d_j) = _perturbed(model, _batch(users, positives, negatives), eps=0.7)
  delta_p, delta_q = _numpy_perturbation(p, q, users, positives, negatives, 0.7)
  np.testing.assert_allclose(d_u, delta_p[users], rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(d_i, delta_q[positives], rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(d_j, delta_q[negatives], rtol=1e-4, atol=1e-6)
  for rows in (d_u, d_i, d_j):
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 0.7, rtol=1e-5, atol=1e-6)


def test_adversarial_perturbation_beats_random_of_the_same_norm():
  model = APR(20, 30, APRConfig(embedding_dim=8, init_stddev=0.3), seed=1)
  rng = np.random.default_rng(0)
  batch = _batch(rng.integers(0, 20, 64), rng.integers(0, 30, 64), rng.integers(0, 30, 64))
  vectors, deltas = _perturbed(model, batch, eps=0.5)

  def loss(ds):
    u, i, j = (v + d for v, d in zip(vectors, ds))
    return float(tf.reduce_sum(bpr_loss(tf.reduce_sum(u * (i - j), axis=-1))))

  clean = loss([tf.zeros_like(v) for v in vectors])
  adversarial = loss(deltas)
  increases = []
  for trial in range(5):
    user_noise = tf.random.stateless_normal([20, 8], seed=[trial, 0])
    item_noise = tf.random.stateless_normal([30, 8], seed=[trial, 1])
    user_table = 0.5 * tf.math.l2_normalize(user_noise, axis=1)
    item_table = 0.5 * tf.math.l2_normalize(item_noise, axis=1)
    random = [tf.gather(user_table, batch["user_index"]),
              tf.gather(item_table, batch["positive"]),
              tf.gather(item_table, batch["negative"])]
    increases.append(loss(random) - clean)
  assert adversarial - clean > 0
  assert adversarial - clean > 3 * max(increases)


def test_apr_gradient_is_eq_10():
  eps, reg_adv, l2 = 0.5, 0.7, 0.2
  config = APRConfig(embedding_dim=3, init_stddev=0.5, eps=eps, reg_adv=reg_adv, l2=l2)
  model = APR(3, 5, config, seed=2)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  users, positives, negatives = [0, 2, 0, 1], [1, 3, 4, 1], [3, 0, 1, 2]
  with tf.GradientTape() as tape:
    loss, _, _ = model.apr_objective(_batch(users, positives, negatives))
  grad_p, grad_q = (tf.convert_to_tensor(g).numpy() for g in tape.gradient(
      loss, [model.mf.user_embeddings, model.mf.item_embeddings]))

  delta_p, delta_q = _numpy_perturbation(p, q, users, positives, negatives, eps)
  expected_p, expected_q = np.zeros_like(p), np.zeros_like(q)
  scale = 2 * l2 / (config.embedding_dim * len(users))  # d/dtheta of l2 * mean(theta^2)
  for u, i, j in zip(users, positives, negatives):
    sigma = lambda x: 1.0 / (1.0 + np.exp(-x))
    clean = 1 - sigma(p[u] @ (q[i] - q[j]))
    pu, qi, qj = p[u] + delta_p[u], q[i] + delta_q[i], q[j] + delta_q[j]
    adv = 1 - sigma(pu @ (qi - qj))
    expected_p[u] += -clean * (q[i] - q[j]) - reg_adv * adv * (qi - qj) + scale * p[u]
    expected_q[i] += -clean * p[u] - reg_adv * adv * pu + scale * q[i]
    expected_q[j] += clean * p[u] + reg_adv * adv * pu + scale * q[j]
  np.testing.assert_allclose(grad_p, expected_p, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(grad_q, expected_q, rtol=1e-4, atol=1e-6)


def _toy_matrix():
  rng = np.random.default_rng(0)
  users, items = rng.normal(size=(40, 3)), rng.normal(size=(30, 3))
  return sp.csr_matrix((users @ items.T > 1.0).astype(np.float32))


def test_pretraining_then_fresh_adagrad():
  triplets = Triplets(_toy_matrix(), batch_size=64, seed=0)
  model = APR(40, 30, APRConfig(embedding_dim=4, pretrain_epochs=1), seed=0)
  model.compile(optimizer=model.apr_optimizer)
  def accumulators(optimizer):
    return [v.numpy() for v in optimizer.variables if v.shape == (30, 4)][0]
  model.epoch.assign(0)
  model.fit(triplets(0), verbose=0)
  assert model.bpr_optimizer.iterations.numpy() == triplets.batches_per_epoch
  assert model.apr_optimizer.iterations.numpy() == 0
  np.testing.assert_array_equal(accumulators(model.apr_optimizer), 0.1)
  model.epoch.assign(1)
  history = model.fit(triplets(1), verbose=0).history
  assert model.bpr_optimizer.iterations.numpy() == triplets.batches_per_epoch
  assert model.apr_optimizer.iterations.numpy() == triplets.batches_per_epoch
  assert history["adv_loss"][0] > 0


def test_restore_embeddings_from_a_bpr_checkpoint(tmp_path):
  bpr = BPR(40, 30, BPRConfig(embedding_dim=4), seed=3)
  bpr.compile(optimizer=bpr.bpr_optimizer)
  bpr.fit(Triplets(_toy_matrix(), batch_size=64)(0), verbose=0)
  path = tf.train.Checkpoint(model=bpr, optimizer=bpr.optimizer).write(str(tmp_path / "ckpt"))
  apr = APR(40, 30, APRConfig(embedding_dim=4), seed=4)
  apr.restore_embeddings(path)
  # exact: restored bytes, nothing computed
  np.testing.assert_array_equal(apr.mf.user_embeddings.numpy(), bpr.mf.user_embeddings.numpy())
  np.testing.assert_array_equal(apr.mf.item_embeddings.numpy(), bpr.mf.item_embeddings.numpy())
  assert apr.apr_optimizer.iterations.numpy() == 0


def test_apr_start_options_set_where_adversarial_training_starts():
  with pytest.raises(InputError, match="unknown apr_start"):
    APRConfig(apr_start="first")
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(20), 8)
  data = Interactions.from_raw(users, rng.integers(0, 30, len(users)),
                               timestamps=np.arange(len(users)))
  split = make_split("loo_full", data, 0)
  for start, restore in (("last", None), ("best", 3)):
    config = RunConfig(method="apr", protocol="loo_full", epochs=5, method_config={
        "pretrain_epochs": 3, "apr_start": start, "embedding_dim": 4})
    trainable = build_apr(split, config)
    assert trainable.restore_best_at == restore
    assert trainable.milestones == {"pretrained": 3}  # APR is compared with its BPR stage


def test_fused_steps_train_bpr_then_apr_as_one_batch_per_call():
  """Several APR steps per call (and the pre-training tf.cond inside the loop) change nothing."""
  rng = np.random.default_rng(0)
  matrix = sp.csr_matrix((rng.random((50, 40)) < 0.2).astype(np.float32))
  results = []
  for steps in (0, 3):
    triplets = Triplets(matrix, batch_size=32, seed=5, drop_remainder=False,
                        steps_per_element=steps)
    model = APR(50, 40, APRConfig(embedding_dim=8, init_stddev=0.3, pretrain_epochs=1,
                                  l2=0.01), seed=1)
    model.compile(optimizer=model.apr_optimizer)
    if steps:
      model.sample_from(triplets)
    logs = []
    for epoch in range(3):
      model.epoch.assign(epoch)
      logs.append({k: v[0] for k, v in model.fit(triplets(epoch), verbose=0).history.items()})
    results.append((model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy(), logs,
                    int(model.bpr_optimizer.iterations.numpy()),
                    int(model.apr_optimizer.iterations.numpy())))
  one, fused = results
  assert fused[3:] == one[3:] == (triplets.batches_per_epoch, 2 * triplets.batches_per_epoch)
  for a, b in zip(one[:2], fused[:2]):
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)  # another CPU's rounding only
  assert [l["adv_loss"] for l in fused[2]][0] == 0.0 and fused[2][1]["adv_loss"] > 0
  for a, b in zip(one[2], fused[2]):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-7)
