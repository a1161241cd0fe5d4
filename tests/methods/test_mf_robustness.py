"""The MF robustness study: adversarial noise hurts more than random noise of the same norm."""

import numpy as np
import scipy.sparse as sp

from tfrankcf.inputs.triplets import Triplets
from tfrankcf.methods.bpr import BPR, BPRConfig
from tfrankcf.methods.mf_robustness import robustness_study
from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet


def _toy_matrix():
  rng = np.random.default_rng(0)
  users, items = rng.normal(size=(40, 3)), rng.normal(size=(30, 3))
  return sp.csr_matrix((users @ items.T > 1.0).astype(np.float32))


def test_robustness_study():
  matrix = _toy_matrix().tolil()
  rows, cols = matrix.nonzero()
  held_out = {}
  for u, i in zip(rows, cols):
    held_out.setdefault(u, i)  # one item per user becomes the target
  users = np.array(sorted(held_out), np.int64)
  targets = sp.csr_matrix((np.ones(len(users)),
                           (np.arange(len(users)), [held_out[u] for u in users])),
                          shape=(len(users), 30))
  for u in users:
    matrix[u, held_out[u]] = 0
  train = matrix.tocsr()
  train.eliminate_zeros()
  eval_set = EvalSet(user_index=users, inputs=train[users], targets=targets,
                     exclude=train[users])
  model = BPR(40, 30, BPRConfig(embedding_dim=8, init_stddev=0.3), seed=0)
  model.compile(optimizer=model.bpr_optimizer)
  triplets = Triplets(train, batch_size=64, seed=0)
  for epoch in range(5):
    model.fit(triplets(epoch), verbose=0)
  study = robustness_study(model.mf, Triplets(train, batch_size=128, seed=1, drop_remainder=False),
                           eval_set, eps_values=(0.1, 0.3), ks=(10,), metric_names=("ndcg",))
  clean = evaluate(model, eval_set, ks=(10,), metric_names=("ndcg",)).means
  assert study["clean"]["metrics"]["ndcg@10"] == clean["ndcg@10"]
  assert study["num_triplets"] == train.nnz
  for kind in ("adversarial", "random"):
    assert set(study[kind]) == {"0.1", "0.3"}
  for eps in ("0.1", "0.3"):  # Figure 1 (b, d): adversarial noise hurts D' more
    adversarial, random = study["adversarial"][eps], study["random"][eps]
    assert adversarial["train_accuracy"] < random["train_accuracy"]
    change = adversarial["relative_change"]["ndcg@10"]
    assert change == adversarial["metrics"]["ndcg@10"] / clean["ndcg@10"] - 1
