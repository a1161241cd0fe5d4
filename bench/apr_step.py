"""Benchmark: MF-BPR and APR training steps, full-ranking evaluation, peak memory.

  python bench/apr_step.py [--steps 200] [--output bench/results/apr_step.json]

On ML-100K (943 x 1682, all 100K ratings as positives) and on a synthetic
30K users x 40K items x 64 dims model (~30 items per user) it measures

* triplets per second of the BPR and the APR `train_step` (batch 512, compiled
  once, batches prefetched from `Triplets`), the two models taking turns in
  rounds of `--steps` steps so both see the same background load; APR's
  step should cost at most 2.2x BPR's (two forward/backward passes plus the
  per-row perturbation);
* seconds of a full-ranking evaluation (`tfrankcf.metrics.evaluate`, one
  held-out item per user, training items excluded) of every user;
* the process's peak RSS.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import time

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf import datasets
from tfrankcf.inputs.triplets import Triplets
from tfrankcf.methods.apr import APR, APRConfig
from tfrankcf.methods.bpr import BPR, BPRConfig
from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet
from tfrankcf.training.results import write_json

def ml100k_matrix() -> sp.csr_matrix:
  """The embedded MovieLens 100K, every rating a positive."""
  return datasets.load_dataset("ml100k").interactions.to_csr()


def synthetic_matrix(num_users: int, num_items: int, per_user: int, seed: int = 0):
  """About `per_user` items per user, drawn with a Zipf-like popularity skew."""
  rng = np.random.default_rng(seed)
  popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
  users = np.repeat(np.arange(num_users), per_user)
  items = rng.choice(num_items, users.size, p=popularity / popularity.sum())
  matrix = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)),
                         shape=(num_users, num_items))
  matrix.data[:] = 1.0  # repeated draws were summed
  return matrix


def step_throughput(matrix: sp.csr_matrix, steps: int) -> dict:
  """Triplets/second of BPR's and APR's train_step, interleaved in rounds."""
  num_users, num_items = matrix.shape
  triplets = Triplets(matrix, seed=0)
  batches = list(triplets(0).take(steps))
  models = {"bpr": BPR(num_users, num_items, BPRConfig(), seed=0),
            "apr": APR(num_users, num_items, APRConfig(), seed=0)}  # APR from epoch 0
  steps_fn = {}
  for name, model in models.items():
    model.compile(optimizer=model.bpr_optimizer if name == "bpr" else model.apr_optimizer)
    steps_fn[name] = tf.function(model.train_step)
    steps_fn[name](batches[0])  # trace
  seconds = {name: [] for name in models}
  for _ in range(ROUNDS):
    for name, step in steps_fn.items():
      start = time.perf_counter()
      for batch in batches:
        step(batch)
      models[name].mf.user_embeddings.numpy()  # wait for the last update
      seconds[name].append(time.perf_counter() - start)
  triplets_done = steps * triplets.batch_size
  result = {name: {"triplets_per_second": triplets_done / statistics.median(values),
                   "ms_per_step": 1000 * statistics.median(values) / steps}
            for name, values in seconds.items()}
  result["apr_over_bpr_step"] = (result["apr"]["ms_per_step"] / result["bpr"]["ms_per_step"])
  return result


def fit_epoch_seconds(matrix: sp.csr_matrix) -> dict:
  """Seconds of one `fit` epoch (sampler included) of each model, after a warm-up epoch."""
  num_users, num_items = matrix.shape
  triplets = Triplets(matrix, seed=0)
  result = {}
  for name, model in (("bpr", BPR(num_users, num_items)), ("apr", APR(num_users, num_items))):
    model.compile(optimizer=model.bpr_optimizer if name == "bpr" else model.apr_optimizer)
    model.fit(triplets(0), verbose=0)
    start = time.perf_counter()
    model.fit(triplets(1), verbose=0)
    seconds = time.perf_counter() - start
    result[name] = {"seconds": seconds,
                    "triplets_per_second": triplets.examples_per_epoch / seconds}
  return result


def leave_one_out_eval_set(matrix: sp.csr_matrix, seed: int = 0) -> EvalSet:
  """One random training item per user as the target, the rest excluded."""
  rng = np.random.default_rng(seed)
  matrix = sp.csr_matrix(matrix)
  counts = np.diff(matrix.indptr)
  users = np.flatnonzero(counts > 1)
  picks = matrix.indptr[users] + rng.integers(0, counts[users])
  targets = sp.csr_matrix((np.ones(len(users), np.float32),
                           (np.arange(len(users)), matrix.indices[picks])),
                          shape=(len(users), matrix.shape[1]))
  history = matrix[users] - targets
  history.eliminate_zeros()
  return EvalSet(user_index=users.astype(np.int64), inputs=history, targets=targets,
                 exclude=history)


def evaluation_seconds(matrix: sp.csr_matrix) -> dict:
  num_users, num_items = matrix.shape
  model = BPR(num_users, num_items)
  eval_set = leave_one_out_eval_set(matrix)
  evaluate(model, eval_set, ks=(50, 100), metric_names=("hr", "ndcg"),
           batch_size=1000)  # trace
  start = time.perf_counter()
  evaluate(model, eval_set, ks=(50, 100), metric_names=("hr", "ndcg"), batch_size=1000)
  seconds = time.perf_counter() - start
  return {"users": int(eval_set.num_users), "items": int(num_items), "seconds": seconds,
          "users_per_second": eval_set.num_users / seconds}


def peak_rss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "apr_step.json"))
  args = parser.parse_args()
  results = {"environment": {"python": platform.python_version(), "tensorflow": tf.__version__,
                             "cpus": os.cpu_count()},
             "batch_size": 512, "embedding_dim": 64, "steps_per_round": args.steps,
             "rounds": ROUNDS}
  ml100k = ml100k_matrix()
  results["ml100k"] = {"shape": list(ml100k.shape), "pairs": int(ml100k.nnz),
                       "step": step_throughput(ml100k, args.steps),
                       "fit_epoch": fit_epoch_seconds(ml100k),
                       "evaluation": evaluation_seconds(ml100k)}
  results["peak_rss_mb_after_ml100k"] = peak_rss_mb()
  print(json.dumps(results["ml100k"], indent=1))
  large = synthetic_matrix(30_000, 40_000, per_user=30)
  results["synthetic_30k_40k"] = {"shape": list(large.shape), "pairs": int(large.nnz),
                                  "step": step_throughput(large, args.steps),
                                  "evaluation": evaluation_seconds(large)}
  results["peak_rss_mb"] = peak_rss_mb()
  print(json.dumps(results["synthetic_30k_40k"], indent=1))
  print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
  write_json(args.output, results)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
