"""Supervised: backbone + one ranking loss on list-wise batches."""

import types

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.inputs.listwise import ListwiseSampler
from tfrankcf.losses import ranking
from tfrankcf.methods.supervised import (Supervised, SupervisedConfig, build_supervised,
                                         with_batch_size)
from tfrankcf.training.config_flags import config_from_dict


def _matrix():
  rng = np.random.default_rng(0)
  return sp.csr_matrix((rng.random((20, 30)) < 0.25).astype(np.float32))


@pytest.mark.parametrize("backbone,loss", [("graphrec", "listmle"), ("neumf", "logloss"),
                                           ("graphrec", "gumbel_approx_ndcg")])
def test_losses_are_the_factory_loss_and_a_step_trains_the_backbone(backbone, loss):
  matrix = _matrix()
  model = Supervised(matrix, SupervisedConfig(backbone=backbone, loss=loss, lists_per_batch=4,
                                              graph_features=True), seed=1)
  model.compile(optimizer=model.ranking_optimizer)
  batch = next(iter(ListwiseSampler(matrix, lists_per_batch=4, seed=0)(0)))
  seed = tf.random.experimental.stateless_fold_in(tf.constant([1, 1], tf.int64),
                                                  tf.constant(0, tf.int64))
  expected = ranking.get(loss)(batch["labels"], model.logits(batch), seed=seed)
  np.testing.assert_allclose(model.compute_example_losses(batch), expected, rtol=1e-6, atol=1e-6)
  before = [v.numpy() for v in model.backbone.trainable_variables]
  logs = model.train_step(batch)
  np.testing.assert_allclose(logs["loss"], np.mean(expected), rtol=1e-5, atol=1e-6)
  changed = [not np.array_equal(b, v.numpy())
             for b, v in zip(before, model.backbone.trainable_variables)]
  assert all(changed)


def test_batch_size_sets_lists_per_batch_and_errors():
  config = with_batch_size(SupervisedConfig(loss="softmax"), batch_size=250)
  assert config.lists_per_batch == 25 and config.loss == "softmax"
  with pytest.raises(InputError, match="unknown setting other"):
    config_from_dict(SupervisedConfig, {"loss": "softmax", "other": 1})  # never dropped
  with pytest.raises(InputError, match="multiple of the list size"):
    with_batch_size(SupervisedConfig(), batch_size=255)
  with pytest.raises(InputError, match="valid losses"):
    SupervisedConfig(loss="hinge")
  with pytest.raises(InputError, match="valid backbones"):
    SupervisedConfig(backbone="bert")


def test_builder_scores_candidates_like_the_full_catalogue():
  matrix = _matrix()
  split = types.SimpleNamespace(train=matrix, num_items=30)
  config = types.SimpleNamespace(
      method_config=SupervisedConfig(loss="approx_ndcg", backbone="neumf"), batch_size=40,
      seed=3)
  trainable = build_supervised(split, config)
  model = trainable.model
  assert model.config.lists_per_batch == 4
  assert trainable.examples_per_epoch == trainable.dataset_fn.batches_per_epoch * 4
  users = np.array([0, 5])
  full = model.score(users, matrix[users])
  items = np.array([[1, 2, 3], [9, 8, 7]])
  np.testing.assert_allclose(model.score(users, matrix[users], items),
                             np.take_along_axis(full, items, 1), rtol=1e-5,
                             atol=1e-10)  # NeuMF's untrained scores are ~5e-6
