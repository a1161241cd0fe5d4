"""The compiled full-ranking path of `evaluate` gives the numpy path's values, ties included."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.baselines.itempop import ItemPop
from tfrankcf.errors import InputError
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective
from tfrankcf.methods.bpr import BPR, BPRConfig
from tfrankcf.methods.supervised import Supervised, SupervisedConfig
from tfrankcf.metrics import evaluate, evaluator
from tfrankcf.metrics import topk
from tfrankcf.metrics.topk import group_size, has_tf_scorer
from tfrankcf.protocols.split import EvalSet

KS = (1, 3, 5, 20, 100)  # 100 > every catalogue here: top k = the whole catalogue
SMALL_KS = (1, 3, 5, 10)  # top 10: ties straddle the cut


class TableScorer:
  """Rows of a fixed score matrix, through numpy `score` and compiled `score_tf`."""

  def __init__(self, scores):
    self.scores = np.asarray(scores)
    self.numpy_calls = 0

  def score(self, user_index, history, items=None):
    self.numpy_calls += 1
    rows = self.scores[np.asarray(user_index)]
    return rows if items is None else np.take_along_axis(rows, np.asarray(items), axis=1)

  def score_tf(self, user_index, history):
    del history
    return tf.gather(tf.constant(self.scores), user_index)


class ProductScorer:
  """P[u] Q^T as an MF model scores: its exclusions are written in place."""

  uses_history = False

  def __init__(self, users, items):
    self.users = tf.Variable(users)
    self.items = tf.Variable(items)

  def score(self, user_index, history, items=None):
    del history, items
    return self.users.numpy()[np.asarray(user_index)] @ self.items.numpy().T

  def score_tf(self, user_index, history):
    del history
    return tf.matmul(tf.gather(self.users, user_index), self.items, transpose_b=True)


class VariableScorer(TableScorer):
  """Returns a variable's own buffer: the exclusions must not be written into it."""

  def __init__(self, scores):
    super().__init__(scores)
    self.variable = tf.Variable(self.scores)

  def score_tf(self, user_index, history):
    del user_index, history
    return self.variable.read_value()


def _graph_ops(scorer) -> set:
  (function,) = topk._COMPILED[scorer].values()  # pylint: disable=protected-access
  return {op.type for op in function.get_concrete_function().graph.get_operations()}


def _sparse(mask) -> sp.csr_matrix:
  return sp.csr_matrix(np.asarray(mask, np.float32))


def _eval_set(rng, num_users, num_items, target_density=0.15):
  """Random exclusions and targets; some targets excluded, some users without targets."""
  exclude = rng.random((num_users, num_items)) < 0.3
  targets = rng.random((num_users, num_items)) < target_density
  targets[:3] = False  # users without targets
  targets[3] = ~exclude[3]  # every non-excluded item is a target
  exclude[4] = True  # nothing left to rank; its targets all score -inf
  targets[4, :2] = True
  return EvalSet(user_index=np.arange(num_users), inputs=_sparse(exclude),
                 targets=_sparse(targets), exclude=_sparse(exclude))


def _assert_same(scorer, eval_set, ks=KS, batch_size=7, **kwargs):
  if ks is KS:
    _assert_same(scorer, eval_set, SMALL_KS, batch_size, **kwargs)
  expected = evaluate(scorer, eval_set, ks=ks, batch_size=batch_size, compiled=False, **kwargs)
  numpy_calls = getattr(scorer, "numpy_calls", 0)
  result = evaluate(scorer, eval_set, ks=ks, batch_size=batch_size, compiled=True, **kwargs)
  assert getattr(scorer, "numpy_calls", 0) == numpy_calls  # the compiled path ran
  assert result.per_user.keys() == expected.per_user.keys()
  for key, values in expected.per_user.items():
    np.testing.assert_allclose(result.per_user[key], values, atol=1e-6, rtol=0,
                               equal_nan=True, err_msg=key)
  assert result.users_without_targets == expected.users_without_targets
  assert result.num_users == expected.num_users
  return result


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_scores_match_numpy(dtype):
  rng = np.random.default_rng(0)
  eval_set = _eval_set(rng, 40, 30)
  result = _assert_same(TableScorer(rng.normal(size=(40, 30)).astype(dtype)), eval_set)
  assert result.users_without_targets == 3
  assert 0.0 < result.means["ndcg@5"] < 1.0


@pytest.mark.parametrize("levels,target_density", [(1, 0.15), (2, 0.15), (2, 0.6), (3, 0.5),
                                                   (6, 0.3)])
def test_tied_scores_match_numpy(levels, target_density):
  # A few distinct values: ties inside the top k, across the cut and below it.
  rng = np.random.default_rng(levels)
  eval_set = _eval_set(rng, 50, 25, target_density)
  scores = rng.integers(0, levels, size=(50, 25)).astype(np.float32)
  result = _assert_same(TableScorer(scores), eval_set)
  if levels == 1:  # all equal: ties count against the targets (user 3 has only targets left)
    for key in ("ndcg@1", "ndcg@5", "hr@5"):
      values = result.per_user[key][5:]
      np.testing.assert_array_equal(values[~np.isnan(values)], 0.0)
      assert result.per_user[key][3] == 1.0


@pytest.mark.parametrize("num_items", [600, 601])  # groups of 8; 601: padded to 608
@pytest.mark.parametrize("levels", [0, 2, 4])  # 0: continuous scores
def test_two_stage_top_k_matches_numpy(num_items, levels):
  assert group_size(num_items, 11) == 8
  rng = np.random.default_rng(num_items + levels)
  eval_set = _eval_set(rng, 30, num_items, target_density=0.3 if levels else 0.05)
  scores = (rng.integers(0, levels, size=(30, num_items)) if levels
            else rng.normal(size=(30, num_items))).astype(np.float32)
  scores[7, :] = scores[7, 0]  # one user with all scores equal
  _assert_same(TableScorer(scores), eval_set, ks=(1, 5, 10), batch_size=8)
  scores[9, np.flatnonzero(eval_set.exclude[9].toarray() == 0)[0]] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    evaluate(TableScorer(scores), eval_set, ks=(1, 5, 10), batch_size=8, compiled=True)


def test_ties_when_few_items_are_left_and_targets_are_excluded():
  rng = np.random.default_rng(5)
  eval_set = EvalSet(user_index=np.arange(60), inputs=_sparse(np.zeros((60, 8))),
                     targets=_sparse(rng.random((60, 8)) < 0.4),
                     exclude=_sparse(rng.random((60, 8)) < 0.7))
  scores = rng.integers(0, 2, size=(60, 8)).astype(np.float32)
  _assert_same(TableScorer(scores), eval_set, ks=(1, 2, 4, 8, 9), batch_size=60)
  _assert_same(TableScorer(scores), eval_set, ks=(1, 2, 3), batch_size=60)


def test_constant_scorer_scores_zero_on_full_ranking():
  targets = _sparse(np.eye(6)[[0, 3, 5]])
  eval_set = EvalSet(user_index=np.arange(3), inputs=_sparse(np.zeros((3, 6))),
                     targets=targets, exclude=_sparse(np.zeros((3, 6))))
  result = _assert_same(TableScorer(np.ones((3, 6), np.float32)), eval_set, ks=(5, 6))
  assert result.means["ndcg@5"] == 0.0
  assert result.means["hr@6"] == 1.0


def test_explicit_zeros_and_duplicates_in_the_matrices():
  eval_set = EvalSet(
      user_index=np.arange(2), inputs=_sparse(np.zeros((2, 5))),
      # row 0: item 1 stored as 0 (not a target), item 2 stored twice (one target)
      targets=sp.csr_matrix((np.array([0.0, 1.0, 1.0, 1.0], np.float32),
                             np.array([1, 2, 2, 4]), np.array([0, 3, 4])), shape=(2, 5)),
      exclude=sp.csr_matrix((np.array([0.0, 1.0], np.float32), np.array([3, 0]),
                             np.array([0, 1, 2])), shape=(2, 5)))
  _assert_same(TableScorer(np.array([[0.5, 0.9, 0.1, 0.8, 0.2], [0.3, 0.4, 0.5, 0.6, 0.7]],
                                    np.float32)), eval_set, ks=(1, 2, 3))


def test_nan_scores_are_an_error_unless_excluded():
  rng = np.random.default_rng(2)
  eval_set = _eval_set(rng, 10, 6)
  scores = rng.normal(size=(10, 6)).astype(np.float32)
  scores[5, 1] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    evaluate(TableScorer(scores), eval_set, ks=(2,), compiled=True)
  scores = rng.normal(size=(10, 6)).astype(np.float32)
  excluded = eval_set.exclude.nonzero()
  scores[excluded[0][0], excluded[1][0]] = np.nan
  _assert_same(TableScorer(scores), eval_set, ks=(2,))


def test_candidate_protocols_keep_the_numpy_path():
  scorer = TableScorer(np.array([[0.1, 0.5, 0.3, 0.9]], np.float32))
  eval_set = EvalSet(user_index=np.array([0]), inputs=_sparse(np.zeros((1, 4))),
                     targets=_sparse([[0, 0, 1, 0]]), exclude=_sparse(np.zeros((1, 4))),
                     candidates=np.array([[0, 2, 3]]))
  result = evaluate(scorer, eval_set, ks=(1, 2), compiled=True)
  assert scorer.numpy_calls == 1
  assert result.means["hr@1"] == 0.0 and result.means["hr@2"] == 1.0


def _matrix(rng, num_users, num_items, density):
  return sp.csr_matrix((rng.random((num_users, num_items)) < density).astype(np.float32))


def test_models_and_itempop_match_numpy():
  rng = np.random.default_rng(3)
  num_users, num_items = 37, 45
  train = _matrix(rng, num_users, num_items, 0.2)
  targets = _matrix(rng, num_users, num_items, 0.1)
  eval_set = EvalSet(user_index=np.arange(num_users), inputs=train, targets=targets,
                     exclude=train)
  tf.keras.utils.set_random_seed(0)
  vae = AutoencoderModel(build_actor("vae", num_items), actor_objective("vae"), seed=7)
  bpr = BPR(num_users, num_items, BPRConfig(embedding_dim=8, init_stddev=0.3), seed=0)
  itempop = ItemPop().fit(train)
  neumf = Supervised(train, SupervisedConfig(backbone="neumf", init_stddev=0.3), seed=1)
  for scorer in (vae, bpr, itempop, neumf):
    assert has_tf_scorer(scorer)
    _assert_same(scorer, eval_set, ks=(1, 5, 10, 50), batch_size=16)


def test_itempop_refit_is_seen_by_the_cached_function():
  rng = np.random.default_rng(4)
  eval_set = _eval_set(rng, 20, 30)
  itempop = ItemPop().fit(_matrix(rng, 50, 30, 0.2))
  _assert_same(itempop, eval_set, ks=(1, 5))
  itempop.fit(_matrix(rng, 50, 30, 0.5))
  _assert_same(itempop, eval_set, ks=(1, 5))


def test_exclusions_of_a_matrix_product_are_written_in_place_elsewhere_copied():
  rng = np.random.default_rng(7)
  eval_set = _eval_set(rng, 30, 40)
  product = ProductScorer(rng.normal(size=(30, 4)).astype(np.float32),
                          rng.normal(size=(40, 4)).astype(np.float32))
  _assert_same(product, eval_set, ks=(1, 5, 10), batch_size=30)
  assert "InplaceUpdate" in _graph_ops(product)
  variable = VariableScorer(rng.normal(size=(30, 40)).astype(np.float32))
  before = variable.variable.numpy().copy()
  _assert_same(variable, eval_set, ks=(1, 5, 10), batch_size=30)
  ops = _graph_ops(variable)
  assert "InplaceUpdate" not in ops and "TensorScatterUpdate" in ops
  np.testing.assert_array_equal(variable.variable.numpy(), before)  # not overwritten


def test_id_based_model_rejects_unseen_users_on_the_compiled_path():
  bpr = BPR(5, 6, BPRConfig(embedding_dim=2), seed=0)
  eval_set = EvalSet(user_index=np.array([0, -1]), inputs=_sparse(np.eye(6)[:2]),
                     targets=_sparse(np.eye(6)[2:4]), exclude=_sparse(np.eye(6)[:2]))
  with pytest.raises(InputError, match="unseen"):
    evaluate(bpr, eval_set, ks=(2,), compiled=True)


def test_the_default_takes_the_compiled_path_on_large_sets_only(monkeypatch):
  rng = np.random.default_rng(6)
  eval_set = _eval_set(rng, 20, 30)
  scorer = TableScorer(rng.normal(size=(20, 30)).astype(np.float32))
  evaluate(scorer, eval_set, ks=(5,))
  assert scorer.numpy_calls == 1  # 600 scores: the numpy path
  monkeypatch.setattr(evaluator, "COMPILED_MIN_SCORES", 600)
  evaluate(scorer, eval_set, ks=(5,))
  assert scorer.numpy_calls == 1


def test_a_model_overriding_only_score_keeps_the_numpy_path():
  class Reversed(BPR):
    def score(self, user_index, history, items=None):
      return -super().score(user_index, history, items)

  model = Reversed(4, 5, BPRConfig(embedding_dim=2), seed=0)
  assert not has_tf_scorer(model)
  assert has_tf_scorer(BPR(4, 5, BPRConfig(embedding_dim=2), seed=0))
