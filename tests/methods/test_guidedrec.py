"""GuidedRec: each sub-step of Algorithm 1 moves the right weights; fused = sequential."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.inputs.listwise import ListwiseSampler
from tfrankcf.methods.guidedrec import GuidedRec, GuidedRecConfig
from tfrankcf.metrics import ranking as numpy_metrics
from tfrankcf.metrics.ranking_tf import ndcg_at_k


def _matrix():
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((20, 30)) < 0.25).astype(np.float32))


def _model(**options):
  config = GuidedRecConfig(lists_per_batch=4, **options)
  model = GuidedRec(_matrix(), config, seed=1)
  model.compile(optimizer=model.logloss_optimizer)
  return model


def _batch():
  return next(iter(ListwiseSampler(_matrix(), lists_per_batch=4, seed=0)(0)))


def _snapshot(variables):
  return [v.numpy().copy() for v in variables]


def _changed(before, variables):
  return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


@pytest.mark.parametrize("surrogate", ["ensemble", "mlp", "nfm1", "nfm2"])
def test_each_step_moves_only_its_model(surrogate):
  model = _model(surrogate=surrogate, graph_features=True)
  batch = _batch()
  backbone, surrogate_vars = model.backbone_variables, model.surrogate_variables
  steps = {"a": (model.logloss_step, True, False),
           "c": (model.surrogate_step, False, True),
           "d": (model.ndcg_step, True, False)}
  for name, (step, moves_backbone, moves_surrogate) in steps.items():
    b0, s0 = _snapshot(backbone), _snapshot(surrogate_vars)
    step(batch)
    assert all(_changed(b0, backbone)) == moves_backbone, name
    assert not any(_changed(b0, backbone)) == (not moves_backbone), name
    assert all(_changed(s0, surrogate_vars)) == moves_surrogate, name
    assert not any(_changed(s0, surrogate_vars)) == (not moves_surrogate), name


def test_fused_guided_steps_equal_surrogate_step_then_ndcg_step():
  fused, sequential = _model(), _model()
  batch = _batch()
  for _ in range(3):
    fused.logloss_step(batch)
    sequential.logloss_step(batch)
    out = fused.guided_steps(batch)
    first = sequential.surrogate_step(batch)
    second = sequential.ndcg_step(batch)
    np.testing.assert_allclose(out["targets"], first["targets"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out["guided_estimates"], second["guided_estimates"], rtol=1e-5,
                               atol=1e-7)  # estimates ~1e-2
  for a, b in zip(fused.trainable_variables, sequential.trainable_variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-8)


def test_leaky_gradients_move_both_models_in_both_steps():
  model = _model(leaky_gradients=True, stabilizer="none")
  batch = _batch()
  for step in (model.surrogate_step, model.ndcg_step):
    b0, s0 = _snapshot(model.backbone_variables), _snapshot(model.surrogate_variables)
    step(batch)
    assert any(_changed(b0, model.backbone_variables))
    assert all(_changed(s0, model.surrogate_variables))


def test_train_step_metrics_and_stabilizer_none():
  batch = _batch()
  model = _model()
  logs = model.train_step(batch)
  assert set(logs) == {"loss", "logloss", "surrogate_loss", "true_ndcg", "surrogate_ndcg",
                       "surrogate_error"}
  unstabilised = _model(stabilizer="none")
  b0 = _snapshot(unstabilised.backbone_variables)
  logs = unstabilised.train_step(batch)
  assert "logloss" not in logs
  assert unstabilised.logloss_optimizer.iterations.numpy() == 0
  assert all(_changed(b0, unstabilised.backbone_variables))


def test_targets_are_the_metrics_modules_ndcg():
  rng = np.random.default_rng(3)
  labels = (rng.random((50, 10)) < 0.5).astype(np.float32)
  labels[:, 0] = 1.0
  scores = rng.random((50, 10)).astype(np.float32)
  np.testing.assert_allclose(ndcg_at_k(tf.constant(labels), tf.constant(scores), 10),
                             numpy_metrics.ndcg_at_k(labels > 0, scores, 10), rtol=1e-5,
                             atol=1e-6)
  model = _model()
  batch = _batch()
  probabilities, targets = model.probabilities_and_targets(batch)
  np.testing.assert_allclose(
      targets, numpy_metrics.ndcg_at_k(batch["labels"].numpy() > 0, probabilities.numpy(), 10),
      rtol=1e-5, atol=1e-6)


def test_decays_and_reductions():
  code = GuidedRecConfig()
  assert code.decays == (8e-5, 1e-6)
  assert GuidedRecConfig(paper_decays=True).decays == (1e-6, 8e-5)
  model = _model()
  decay = model.ndcg_optimizer.decoupled_weight_decay
  assert decay == pytest.approx(8e-5, rel=1e-6, abs=1e-12)
  batch = _batch()
  summed = model.logloss_objective(batch)
  mean = _model(loss_reduction="mean").logloss_objective(batch)
  np.testing.assert_allclose(summed.numpy(), mean.numpy() * 40, rtol=1e-5, atol=1e-5)
  with pytest.raises(InputError, match="valid: logloss, none"):
    GuidedRecConfig(stabilizer="hinge")
