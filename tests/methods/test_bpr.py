"""MF-BPR: TF1 Adagrad on the summed (or mean) BPR loss, row-sparse updates, fused steps."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.inputs.triplets import Triplets
from tfrankcf.methods.bpr import BPR, BPRConfig


def _batch(users, positives, negatives):
  return {"user_index": tf.constant(users, tf.int64),
          "positive": tf.constant(positives, tf.int64),
          "negative": tf.constant(negatives, tf.int64)}


def _bpr_table_gradients(p, q, users, positives, negatives):
  """Numpy gradient of sum_b softplus(-x_b) w.r.t. P and Q."""
  grad_p, grad_q = np.zeros_like(p), np.zeros_like(q)
  for u, i, j in zip(users, positives, negatives):
    x = p[u] @ (q[i] - q[j])
    g = -1.0 / (1.0 + np.exp(x))  # d softplus(-x) / dx
    grad_p[u] += g * (q[i] - q[j])
    grad_q[i] += g * p[u]
    grad_q[j] -= g * p[u]
  return grad_p, grad_q


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_one_step_is_tf1_adagrad_on_the_reduced_loss(reduction):
  config = BPRConfig(embedding_dim=3, init_stddev=0.5, loss_reduction=reduction)
  model = BPR(4, 5, config, seed=0)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  users, positives, negatives = [0, 0, 2], [1, 3, 1], [3, 2, 4]
  model.bpr_step(_batch(users, positives, negatives))
  grad_p, grad_q = _bpr_table_gradients(p, q, users, positives, negatives)
  if reduction == "mean":
    grad_p, grad_q = grad_p / 3, grad_q / 3
  expected_p = p - 0.05 * grad_p / np.sqrt(0.1 + grad_p ** 2)
  expected_q = q - 0.05 * grad_q / np.sqrt(0.1 + grad_q ** 2)
  np.testing.assert_allclose(model.mf.user_embeddings.numpy(), expected_p, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(model.mf.item_embeddings.numpy(), expected_q, rtol=1e-5, atol=1e-7)
  np.testing.assert_array_equal(model.mf.user_embeddings.numpy()[[1, 3]], p[[1, 3]])
  assert np.all(model.mf.item_embeddings.numpy()[0] == q[0])


def test_l2_term_is_a_batch_and_dimension_mean():
  model = BPR(3, 4, BPRConfig(embedding_dim=2, l2=0.3, init_stddev=0.5), seed=1)
  p, q = model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy()
  batch = _batch([0, 2], [1, 3], [2, 0])
  loss, margins = model.bpr_objective(batch)
  x = np.array([p[0] @ (q[1] - q[2]), p[2] @ (q[3] - q[0])])
  np.testing.assert_allclose(margins, x, rtol=1e-5, atol=1e-7)
  penalty = 0.3 * np.mean(p[[0, 2]] ** 2 + q[[1, 3]] ** 2 + q[[2, 0]] ** 2)
  np.testing.assert_allclose(loss, np.sum(np.log1p(np.exp(-x))) + penalty, rtol=1e-5, atol=1e-6)


def test_training_improves_ranking_accuracy():
  rng = np.random.default_rng(0)
  users, items = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
  matrix = sp.csr_matrix((users @ items.T > 0.8).astype(np.float32))
  triplets = Triplets(matrix, batch_size=64, seed=0)
  model = BPR(40, 30, BPRConfig(embedding_dim=8), seed=0)
  model.compile(optimizer=model.bpr_optimizer)
  first = model.fit(triplets(0), verbose=0).history["accuracy"][0]
  for epoch in range(1, 8):
    last = model.fit(triplets(epoch), verbose=0).history["accuracy"][0]
  assert last > first + 0.2


def test_large_model_trains_with_row_sparse_gradients():
  """30K users x 40K items x 64 dims: gradients and updates touch only the batch's rows."""
  model = BPR(30_000, 40_000, BPRConfig(), seed=0)
  batch = _batch(np.arange(512) * 7, np.arange(512) * 11, np.arange(512) * 13 + 1)
  with tf.GradientTape() as tape:
    loss, _ = model.bpr_objective(batch)
  gradients = tape.gradient(loss, model.mf.trainable_variables)
  assert all(isinstance(g, tf.IndexedSlices) for g in gradients)
  before = model.mf.user_embeddings.numpy()
  model.bpr_step(batch)
  changed = np.flatnonzero(np.any(model.mf.user_embeddings.numpy() != before, axis=1))
  assert set(changed) <= set(np.arange(512) * 7)


def test_id_based_scoring_skips_histories_and_refuses_unseen_users():
  from tfrankcf.errors import InputError  # pylint: disable=g-import-not-at-top
  model = BPR(4, 6, BPRConfig(embedding_dim=3), seed=0)
  history = sp.csr_matrix((2, 6), dtype=np.float32)
  scores = model.score(np.array([0, 3]), history)
  np.testing.assert_allclose(scores, model.mf.all_item_scores(tf.constant([0, 3])).numpy(),
                             rtol=1e-6, atol=1e-10)  # scores ~1e-4
  with pytest.raises(InputError, match="unseen in training"):
    model.score(np.array([0, -1]), history)


# -- fused steps (several batches per call, negatives drawn in the step) -------
def _fused_matrix():
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((50, 40)) < 0.2).astype(np.float32))


def _train(model, triplets, epochs=2):
  """(P, Q, per-epoch logs, optimiser steps) after `epochs` fit epochs on `triplets(epoch)`."""
  model.compile(optimizer=model.optimizer or model.bpr_optimizer)
  logs = []
  for epoch in range(epochs):
    if hasattr(model, "epoch"):
      model.epoch.assign(epoch)
    logs.append({k: v[0] for k, v in model.fit(triplets(epoch), verbose=0).history.items()})
  return (model.mf.user_embeddings.numpy(), model.mf.item_embeddings.numpy(), logs,
          int(model.bpr_optimizer.iterations.numpy()))


def assert_same_training(make_model, steps=3, epochs=2):
  """Fused elements of `steps` batches train exactly as one batch per call (and log the same)."""
  results = []
  for steps_per_element in (0, steps):
    triplets = Triplets(_fused_matrix(), batch_size=32, seed=5, drop_remainder=False,
                        steps_per_element=steps_per_element)
    model = make_model()
    if steps_per_element:
      model.sample_from(triplets)
    results.append(_train(model, triplets, epochs))
  (p_one, q_one, logs_one, steps_one), (p_fused, q_fused, logs_fused, steps_fused) = results
  assert steps_fused == steps_one
  # the same ops on the same triplets; the tolerance only allows another CPU's rounding
  np.testing.assert_allclose(p_fused, p_one, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(q_fused, q_one, rtol=1e-5, atol=1e-7)
  for one, fused in zip(logs_one, logs_fused):
    assert one.keys() == fused.keys()
    for key in one:  # trackers sum a chunk before adding it: float32 rounding
      np.testing.assert_allclose(fused[key], one[key], rtol=1e-5, atol=1e-7)
  return results


def test_fused_steps_train_as_one_batch_per_call():
  (p, _, logs, steps), _ = assert_same_training(
      lambda: BPR(50, 40, BPRConfig(embedding_dim=8, init_stddev=0.3), seed=1))
  assert steps == 2 * -(-_fused_matrix().nnz // 32)  # the incomplete batch is trained too
  assert logs[1]["accuracy"] > 0.5 and not np.allclose(p, 0, atol=1e-3)


def test_one_fused_step_is_one_adagrad_step_on_the_batch():
  """A chunk of one batch makes `bpr_step`'s update on the triplets `negatives_for` draws."""
  triplets = Triplets(_fused_matrix(), batch_size=16, seed=2, steps_per_element=1)
  chunk = next(iter(triplets.chunks(0)))
  batch = {"user_index": chunk["user_index"][0], "positive": chunk["positive"][0],
           "negative": triplets.negatives_for(chunk["user_index"][0], chunk["epoch_seed"],
                                              chunk["batch_index"][0])}
  config = BPRConfig(embedding_dim=4, init_stddev=0.5, l2=0.1)
  reference, fused = BPR(50, 40, config, seed=0), BPR(50, 40, config, seed=0)
  reference.bpr_step(batch)
  fused.sample_from(triplets)
  fused.compile(optimizer=fused.bpr_optimizer)
  tf.function(fused.train_step)(chunk)
  np.testing.assert_allclose(fused.mf.user_embeddings.numpy(),
                             reference.mf.user_embeddings.numpy(), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(fused.mf.item_embeddings.numpy(),
                             reference.mf.item_embeddings.numpy(), rtol=1e-5, atol=1e-7)
  assert not np.array_equal(fused.mf.item_embeddings.numpy(),
                            BPR(50, 40, config, seed=0).mf.item_embeddings.numpy())


def test_fused_steps_need_the_triplets_they_sample_from():
  triplets = Triplets(_fused_matrix(), batch_size=16, steps_per_element=2)
  model = BPR(50, 40, BPRConfig(embedding_dim=4), seed=0)
  model.compile(optimizer=model.bpr_optimizer)
  with pytest.raises(ValueError, match="sample_from"):
    model.fit(triplets(0), verbose=0)
  with pytest.raises(ValueError, match="steps_per_call"):
    BPRConfig(steps_per_call=0)


def test_build_bpr_fuses_steps_on_one_device_without_xla():
  from tfrankcf.datasets.interactions import Interactions  # pylint: disable=g-import-not-at-top
  from tfrankcf.methods.bpr import build_bpr  # pylint: disable=g-import-not-at-top
  from tfrankcf.protocols import make_split  # pylint: disable=g-import-not-at-top
  from tfrankcf.training.config import RunConfig  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(20), 8)
  split = make_split("loo_full", Interactions.from_raw(
      users, rng.integers(0, 30, len(users)), timestamps=np.arange(len(users))), 0)
  config = RunConfig(method="bpr", protocol="loo_full", epochs=1, batch_size=16,
                     method_config={"embedding_dim": 4, "steps_per_call": 4})
  trainable = build_bpr(split, config)
  assert trainable.dataset_fn.steps_per_element == 4
  assert trainable.model.triplets is trainable.dataset_fn
  assert set(next(iter(trainable.dataset_fn(0)))) >= {"batch_index", "epoch_seed"}
  with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
    distributed = build_bpr(split, config)
  assert distributed.dataset_fn.steps_per_element == 0  # one batch per replica step
  assert "negative" in next(iter(distributed.dataset_fn(0)))
  xla = build_bpr(split, dataclasses.replace(config, jit_compile=True))
  assert xla.dataset_fn.steps_per_element == 0 and xla.model.triplets is None
  xla.model.compile(optimizer=xla.model.optimizer, jit_compile=True)  # as run_trainable does
  assert np.isfinite(xla.model.fit(xla.dataset_fn(0), verbose=0).history["loss"][0])


def _loop_run(output_dir, epochs, seed=0):
  """`train_and_evaluate` of `build_bpr`'s fused Trainable on a small loo_full split."""
  from tfrankcf.datasets.interactions import Interactions  # pylint: disable=g-import-not-at-top
  from tfrankcf.methods.bpr import build_bpr  # pylint: disable=g-import-not-at-top
  from tfrankcf.protocols import make_split  # pylint: disable=g-import-not-at-top
  from tfrankcf.protocols.reporting import REPORTING  # pylint: disable=g-import-not-at-top
  from tfrankcf.training.config import RunConfig  # pylint: disable=g-import-not-at-top
  from tfrankcf.training.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  users = np.repeat(np.arange(30), 12)
  split = make_split("loo_full", Interactions.from_raw(
      users, (users * 7 + rng.integers(0, 25, len(users))) % 60,
      timestamps=np.arange(len(users))), 0)
  config = RunConfig(method="bpr", protocol="loo_full", epochs=epochs, batch_size=16,
                     seed=seed, method_config={"embedding_dim": 4, "steps_per_call": 4,
                                               "robustness_eps": []})
  trainable = build_bpr(split, config)
  assert trainable.dataset_fn.steps_per_element == 4
  outcome = train_and_evaluate(trainable.model, trainable.dataset_fn, split,
                               REPORTING["loo_full"], str(output_dir), epochs=epochs)
  return outcome, trainable.model.mf.user_embeddings.numpy()


def test_fused_steps_resume_exactly_and_follow_the_seed(tmp_path):
  """In-graph negatives are a function of (seed, epoch, batch): a resumed run is the same run."""
  straight, weights = _loop_run(tmp_path / "straight", epochs=3)
  _loop_run(tmp_path / "resumed", epochs=1)
  resumed, resumed_weights = _loop_run(tmp_path / "resumed", epochs=3)
  # exact: the same kernels on the same machine
  np.testing.assert_array_equal(resumed_weights, weights)
  assert resumed["metrics"] == straight["metrics"]
  strip = lambda history: [{k: v for k, v in e.items() if k != "train_seconds"} for e in history]
  assert strip(resumed["history"]) == strip(straight["history"])
  again, again_weights = _loop_run(tmp_path / "again", epochs=3)
  np.testing.assert_array_equal(again_weights, weights)
  _, other_weights = _loop_run(tmp_path / "other", epochs=3, seed=1)
  assert not np.allclose(other_weights, weights, atol=1e-4)
