"""Benchmark: full-ranking evaluation throughput (users/second) and peak memory.

  python bench/eval_throughput.py [--users 30000 --items 40000 --batch_size 1000]

A synthetic problem of the issue's target size (30K users x 40K items, ~50
excluded and ~10 held-out items per user). The scorer returns a float32 block
of random scores generated once, so the time measured is the evaluator's own
(copy, -inf masking, top-k, ties, metrics at k = 20, 50, 100), not a model's.
Writes JSON to --output (default bench/results/eval_throughput.json).
"""

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp

from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet
from tfrankcf.training.results import write_json


class BlockScorer:
  """Returns rows of one pre-generated random [batch_size, items] float32 block."""

  def __init__(self, batch_size: int, num_items: int, seed: int = 0):
    self.block = np.random.default_rng(seed).random((batch_size, num_items), np.float32)
    self.seconds = 0.0

  def score(self, user_index, history, items=None):
    start = time.perf_counter()
    scores = self.block[:len(user_index)]
    self.seconds += time.perf_counter() - start
    return scores


def random_rows(rng, num_users: int, num_items: int, per_user: int) -> sp.csr_matrix:
  """Binary csr with about `per_user` random items per row."""
  rows = np.repeat(np.arange(num_users), per_user)
  items = rng.integers(0, num_items, rows.size)
  matrix = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, items)),
                         shape=(num_users, num_items))
  matrix.data[:] = 1.0  # duplicates were summed
  return matrix


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--users", type=int, default=30_000)
  parser.add_argument("--items", type=int, default=40_000)
  parser.add_argument("--batch_size", type=int, default=1000)
  parser.add_argument("--excluded_per_user", type=int, default=50)
  parser.add_argument("--targets_per_user", type=int, default=10)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "eval_throughput.json"))
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  exclude = random_rows(rng, args.users, args.items, args.excluded_per_user)
  targets = random_rows(rng, args.users, args.items, args.targets_per_user)
  targets = (targets - targets.multiply(exclude)).tocsr()
  targets.eliminate_zeros()
  eval_set = EvalSet(user_index=np.arange(args.users), inputs=exclude, targets=targets,
                     exclude=exclude)
  scorer = BlockScorer(args.batch_size, args.items)
  rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  start = time.perf_counter()
  result = evaluate(scorer, eval_set, ks=(20, 50, 100), batch_size=args.batch_size)
  seconds = time.perf_counter() - start
  results = {
      "command": " ".join(["python"] + sys.argv),
      "users": args.users, "items": args.items, "batch_size": args.batch_size,
      "excluded_nnz": int(exclude.nnz), "targets_nnz": int(targets.nnz),
      "metrics": sorted(result.means),
      "seconds": seconds, "users_per_second": args.users / seconds,
      "scorer_seconds": scorer.seconds,
      "peak_rss_mb_before_evaluate": rss_before,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "random_scores_ndcg@100": result.means["ndcg@100"],
      "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "processor": platform.processor(), "python": platform.python_version(),
      "numpy": np.__version__,
  }
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
