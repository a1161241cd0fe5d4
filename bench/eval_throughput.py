"""Benchmark: full-ranking evaluation throughput (users/second), numpy and compiled paths vs implicit.

  python bench/eval_throughput.py [--users 30000 --items 40000 --dim 64 --batch_size 1000]
      [--repeats 3 --threads 2 --sides compiled,implicit,numpy_mf,numpy_block]

A synthetic problem of the issue's target size (30K users x 40K items, ~50
excluded and ~10 held-out items per user, random 64-dim float32 MF factors).
Sides, timed over all users, interleaved round by round (`--repeats` rounds;
medians and ratios from the same run):

* `compiled`: `evaluate` of an MF scorer with `score_tf` (P[u] Q^T), i.e.
  scoring, -inf exclusion and top-k in one tf.function per batch, metrics at
  k = 20 (the top-20 of the implicit comparison) and, as `compiled_k100`, at
  k = 20, 50, 100;
* `implicit`: `implicit`'s `recommend(users, exclude rows, N=20,
  filter_already_liked_items=True)` of the same factors (an ALS model whose
  factors are set to P and Q), `--implicit_batch_size` users per call (default
  all in one call): top-20 ids only, no metrics;
* `numpy_mf`: the same MF scorer through the numpy path (`compiled=False`);
* `numpy_block`: the numpy path with a scorer that returns a pre-generated
  random block (costs nothing: the evaluator's own time, as before issue 20).

The first call of the compiled function traces it; that one-off cost is
timed separately (`trace_seconds`). Every side runs with `--threads` threads
(TF intra-op and inter-op, implicit's num_threads); run with
OPENBLAS_NUM_THREADS=1, as implicit asks (it threads itself; the bench sets it
when unset). `implicit` is a bench-only dependency (`pip install implicit`). Writes JSON to --output
(default bench/results/eval_throughput.json).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time


def _parse():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--users", type=int, default=30_000)
  parser.add_argument("--items", type=int, default=40_000)
  parser.add_argument("--dim", type=int, default=64)
  parser.add_argument("--batch_size", type=int, default=1000)
  parser.add_argument("--implicit_batch_size", type=int, default=0,
                      help="users per recommend() call; 0: all users in one call")
  parser.add_argument("--excluded_per_user", type=int, default=50)
  parser.add_argument("--targets_per_user", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--sides", default="compiled,compiled_k100,implicit,numpy_mf,numpy_block")
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "eval_throughput.json"))
  return parser.parse_args()


ARGS = _parse()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit threads itself; before numpy loads

# pylint: disable=g-import-not-at-top,wrong-import-position,wrong-import-order
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet
from tfrankcf.training.results import write_json
# pylint: enable=g-import-not-at-top,wrong-import-position,wrong-import-order

tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)


class BlockScorer:
  """Returns rows of one pre-generated random [batch_size, items] float32 block."""

  def __init__(self, batch_size: int, num_items: int, seed: int = 0):
    self.block = np.random.default_rng(seed).random((batch_size, num_items), np.float32)

  def score(self, user_index, history, items=None):
    del history, items
    return self.block[:len(user_index)]


class MFScorer:
  """Scores P[u] Q^T: numpy `score` for the numpy path, `score_tf` for the compiled one."""

  uses_history = False

  def __init__(self, user_factors: np.ndarray, item_factors: np.ndarray):
    self.user_factors = user_factors
    self.item_factors = item_factors
    self.users_tf = tf.constant(user_factors)
    self.items_tf = tf.constant(item_factors)

  def score(self, user_index, history, items=None):
    del history, items
    return self.user_factors[np.asarray(user_index)] @ self.item_factors.T

  def score_tf(self, user_index, history):
    del history
    return tf.matmul(tf.gather(self.users_tf, user_index), self.items_tf, transpose_b=True)


def random_rows(rng, num_users: int, num_items: int, per_user: int) -> sp.csr_matrix:
  """Binary csr with about `per_user` random items per row."""
  rows = np.repeat(np.arange(num_users), per_user)
  items = rng.integers(0, num_items, rows.size)
  matrix = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, items)),
                         shape=(num_users, num_items))
  matrix.data[:] = 1.0  # duplicates were summed
  return matrix


def implicit_model(user_factors, item_factors, threads: int):
  """An implicit ALS model whose factors are P and Q (recommend = top-N of P[u] Q^T)."""
  from implicit.cpu.als import AlternatingLeastSquares  # pylint: disable=g-import-not-at-top
  model = AlternatingLeastSquares(factors=user_factors.shape[1], num_threads=threads)
  model.user_factors = user_factors
  model.item_factors = item_factors
  return model


def implicit_recall(model, eval_set: EvalSet, batch_size: int, k: int = 20) -> float:
  """recall@k (hits / min(k, |held-out|)) of implicit's top k (checks it ranks the same)."""
  recalls = []
  for begin in range(0, eval_set.num_users, batch_size):
    users = np.arange(begin, min(begin + batch_size, eval_set.num_users))
    ids, _ = model.recommend(users, eval_set.exclude[users], N=k,
                             filter_already_liked_items=True)
    targets = eval_set.targets[users]
    hits = np.asarray(targets[np.arange(len(users))[:, None], ids].todense()) > 0
    held_out = np.diff(targets.indptr)
    recalls.append(np.where(held_out > 0, hits.sum(1) / np.maximum(np.minimum(held_out, k), 1),
                            np.nan))
  return float(np.nanmean(np.concatenate(recalls)))


def implicit_seconds(model, eval_set: EvalSet, batch_size: int, k: int = 20) -> float:
  """Wall seconds of implicit's recommend of the top k for every user, batch by batch."""
  start = time.perf_counter()
  for begin in range(0, eval_set.num_users, batch_size):
    users = np.arange(begin, min(begin + batch_size, eval_set.num_users))
    model.recommend(users, eval_set.exclude[users], N=k, filter_already_liked_items=True)
  return time.perf_counter() - start


def main():
  args = ARGS
  sides = [side for side in args.sides.split(",") if side]
  rng = np.random.default_rng(0)
  exclude = random_rows(rng, args.users, args.items, args.excluded_per_user)
  targets = random_rows(rng, args.users, args.items, args.targets_per_user)
  targets = (targets - targets.multiply(exclude)).tocsr()
  targets.eliminate_zeros()
  eval_set = EvalSet(user_index=np.arange(args.users), inputs=exclude, targets=targets,
                     exclude=exclude)
  user_factors = (rng.standard_normal((args.users, args.dim)) / np.sqrt(args.dim)).astype(
      np.float32)
  item_factors = rng.standard_normal((args.items, args.dim)).astype(np.float32)
  mf = MFScorer(user_factors, item_factors)
  block = BlockScorer(args.batch_size, args.items)
  warm = EvalSet(user_index=eval_set.user_index[:2], inputs=exclude[:2], targets=targets[:2],
                 exclude=exclude[:2])
  trace_seconds = {}
  for name, ks in (("compiled", (20,)), ("compiled_k100", (20, 50, 100))):
    if name in sides:
      start = time.perf_counter()
      evaluate(mf, warm, ks=ks, batch_size=args.batch_size, compiled=True)
      trace_seconds[name] = time.perf_counter() - start
  model = implicit_model(user_factors, item_factors, args.threads) if "implicit" in sides else None
  implicit_batch = args.implicit_batch_size or args.users

  def run(side):
    start = time.perf_counter()
    if side == "compiled":
      result = evaluate(mf, eval_set, ks=(20,), batch_size=args.batch_size, compiled=True)
    elif side == "compiled_k100":
      result = evaluate(mf, eval_set, ks=(20, 50, 100), batch_size=args.batch_size,
                        compiled=True)
    elif side == "numpy_mf":
      result = evaluate(mf, eval_set, ks=(20,), batch_size=args.batch_size, compiled=False)
    elif side == "numpy_block":
      result = evaluate(block, eval_set, ks=(20, 50, 100), batch_size=args.batch_size)
    else:
      return implicit_seconds(model, eval_set, implicit_batch), None
    return time.perf_counter() - start, result.means["recall@20"]

  rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  seconds = {side: [] for side in sides}
  recall = {}
  for _ in range(args.repeats):
    for side in sides:  # interleaved: every round runs every side once
      elapsed, value = run(side)
      seconds[side].append(elapsed)
      if value is not None:
        recall[side] = value
  if model is not None:
    recall["implicit"] = implicit_recall(model, eval_set, implicit_batch)
  median = {side: statistics.median(values) for side, values in seconds.items()}
  users_per_second = {side: args.users / value for side, value in median.items()}
  ratios = {}
  if "implicit" in median:
    for side in ("compiled", "compiled_k100"):
      if side in median:
        ratios[f"{side}_over_implicit"] = median["implicit"] / median[side]
  if "numpy_mf" in median and "compiled" in median:
    ratios["compiled_over_numpy_mf"] = median["numpy_mf"] / median["compiled"]
  results = {
      "command": " ".join(["python"] + sys.argv),
      "users": args.users, "items": args.items, "dim": args.dim,
      "batch_size": args.batch_size, "implicit_batch_size": implicit_batch,
      "threads": args.threads, "repeats": args.repeats,
      "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
      "excluded_nnz": int(exclude.nnz), "targets_nnz": int(targets.nnz),
      "seconds": seconds, "median_seconds": median, "users_per_second": users_per_second,
      "speedups_same_run": ratios, "trace_seconds": trace_seconds,
      "recall@20": recall,  # the sides rank the same scores: these agree
      "targets": {"users_per_second": 15_000, "compiled_over_implicit": 2.0},
      "peak_rss_mb_before_evaluate": rss_before,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
      "machine": platform.machine(), "processor": platform.processor(),
      "python": platform.python_version(), "numpy": np.__version__,
      "tensorflow": tf.__version__,
  }
  if model is not None:
    import implicit  # pylint: disable=g-import-not-at-top
    results["implicit"] = implicit.__version__
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
