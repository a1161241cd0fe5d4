"""Benchmark: an MF-BPR epoch (and APR's step) beside `implicit`'s BPR epoch, in one run.

  python bench/apr_step.py [--users 29858 --items 40981 --pairs 810128 --dim 64
      --batch_size 512 --threads 2 --rounds 5 --sides fused,implicit,apr,per_batch]

The data set has the shape of the APR paper's Gowalla (29,858 users x 40,981
items, 810,128 training pairs; the issue's "810K pairs x 41K items"), drawn
deterministically from `--data_seed`: user activity log-normal (sigma 1, at
least 1 pair), items Zipf-like (popularity ~ rank^-0.8), duplicates merged.
`--scale` multiplies the three sizes (a quick check: `--scale 0.1`).

Sides, one epoch each per round, interleaved round by round (medians and
ratios from the same run, the first epoch of each side untimed: tracing):

* `fused`: `BPR` `fit` on `Triplets` elements of `steps_per_call` (default
  64) batches: several Adagrad steps per compiled call, negatives drawn in
  the step (the package's default path);
* `per_batch`: the same with `steps_per_call=1`, one batch per Keras step and
  the negatives drawn by tf.data (the same updates; the code before issue 20
  was this path with Keras' `apply_gradients` and `NegativeSampler`);
* `apr`: `APR` (adversarial from the first epoch) on the fused path;
* `implicit`: `implicit.cpu.bpr.BayesianPersonalizedRanking(factors=dim,
  iterations=1, num_threads=threads)` `fit` on the same users x items
  matrix: one epoch of `pairs` sampled triplets (its factors include an item
  bias; `verify_negative_samples`, as ours, rejects training items). Its
  `fit` re-initialises the factors each call, a few milliseconds here.

Every side runs with `--threads` threads (TF intra- and inter-op, implicit's
num_threads). Targets (issue 20): fused epoch <= 2x implicit's epoch; APR's
step <= 1.5x BPR's (`apr_over_fused`). `implicit` is a bench-only dependency
(`pip install implicit`). Writes JSON to --output (default
bench/results/apr_step.json).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp


def _parse():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--users", type=int, default=29_858)
  parser.add_argument("--items", type=int, default=40_981)
  parser.add_argument("--pairs", type=int, default=810_128)
  parser.add_argument("--scale", type=float, default=1.0)
  parser.add_argument("--dim", type=int, default=64)
  parser.add_argument("--batch_size", type=int, default=512)
  parser.add_argument("--steps_per_call", type=int, default=64)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--data_seed", type=int, default=0)
  parser.add_argument("--sides", default="fused,implicit,apr,per_batch")
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "apr_step.json"))
  return parser.parse_args()


ARGS = _parse()
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(ARGS.threads))
os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise

# The thread counts are set before TensorFlow starts.
# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)

from tfrankcf.inputs.triplets import Triplets
from tfrankcf.methods.apr import APR, APRConfig
from tfrankcf.methods.bpr import BPR, BPRConfig
from tfrankcf.training.results import write_json
# pylint: enable=g-import-not-at-top,wrong-import-position


def synthetic_matrix(num_users: int, num_items: int, pairs: int, seed: int) -> sp.csr_matrix:
  """About `pairs` positives: log-normal user activity, Zipf-like item popularity."""
  rng = np.random.default_rng(seed)
  activity = rng.lognormal(0.0, 1.0, num_users)
  per_user = np.maximum(1, np.round(activity / activity.sum() * pairs)).astype(np.int64)
  per_user = np.minimum(per_user, num_items // 2)
  users = np.repeat(np.arange(num_users), per_user)
  popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
  items = rng.choice(num_items, users.size, p=popularity / popularity.sum())
  matrix = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)),
                         shape=(num_users, num_items))
  matrix.data[:] = 1.0  # duplicates were summed
  return matrix


class TfSide:
  """One epoch of `fit` of a BPR or APR model per call, epochs numbered on."""

  def __init__(self, model_class, config, matrix):
    num_users, num_items = matrix.shape
    self.model = model_class(num_users, num_items, config, seed=0)
    self.model.compile(optimizer=(self.model.apr_optimizer if model_class is APR
                                  else self.model.bpr_optimizer))
    self.triplets = Triplets(matrix, batch_size=config.batch_size, seed=0,
                             steps_per_element=(config.steps_per_call
                                                if config.steps_per_call > 1 else 0))
    if config.steps_per_call > 1:
      self.model.sample_from(self.triplets)
    self.epoch = 0
    self.steps = self.triplets.batches_per_epoch

  def __call__(self) -> None:
    dataset = self.triplets(self.epoch)
    self.epoch += 1
    self.model.fit(dataset, verbose=0)
    self.model.mf.user_embeddings.numpy()  # the last update is done


class ImplicitSide:
  """One epoch (iterations=1) of implicit's CPU BPR on the same matrix."""

  def __init__(self, matrix):
    from implicit.cpu.bpr import BayesianPersonalizedRanking  # pylint: disable=g-import-not-at-top
    self.matrix = matrix.astype(np.float32)
    self.make = lambda seed: BayesianPersonalizedRanking(
        factors=ARGS.dim, learning_rate=0.05, regularization=0.0, iterations=1,
        num_threads=ARGS.threads, verify_negative_samples=True, random_state=seed)
    self.epoch = 0
    self.steps = self.matrix.nnz // ARGS.batch_size  # for ms per (512-triplet) step

  def __call__(self) -> None:
    self.make(self.epoch).fit(self.matrix, show_progress=False)
    self.epoch += 1


def main():
  scale = ARGS.scale
  shape = (int(ARGS.users * scale), int(ARGS.items * scale), int(ARGS.pairs * scale))
  matrix = synthetic_matrix(*shape, seed=ARGS.data_seed)
  print(f"data: {matrix.shape[0]} users x {matrix.shape[1]} items, {matrix.nnz} pairs",
        flush=True)
  bpr = dict(embedding_dim=ARGS.dim, batch_size=ARGS.batch_size)
  makers = {
      "fused": lambda: TfSide(BPR, BPRConfig(steps_per_call=ARGS.steps_per_call, **bpr), matrix),
      "per_batch": lambda: TfSide(BPR, BPRConfig(steps_per_call=1, **bpr), matrix),
      "apr": lambda: TfSide(APR, APRConfig(steps_per_call=ARGS.steps_per_call, **bpr), matrix),
      "implicit": lambda: ImplicitSide(matrix),
  }
  names = ARGS.sides.split(",")
  unknown = set(names) - set(makers)
  if unknown:
    sys.exit(f"unknown sides {sorted(unknown)} (choose from {', '.join(makers)})")
  sides = {name: makers[name]() for name in names}
  warmup = {}
  for name, side in sides.items():  # tracing, thread pools
    start = time.perf_counter()
    side()
    warmup[name] = time.perf_counter() - start
  seconds = {name: [] for name in sides}
  for round_index in range(ARGS.rounds):
    for name, side in sides.items():
      start = time.perf_counter()
      side()
      seconds[name].append(time.perf_counter() - start)
    print(f"round {round_index + 1}: " + ", ".join(
        f"{name} {values[-1]:.3f}s" for name, values in seconds.items()), flush=True)
  results = {
      "environment": {"python": platform.python_version(), "tensorflow": tf.__version__,
                      "cpus": os.cpu_count(), "load_average": os.getloadavg()},
      "command": " ".join(sys.argv), "threads": ARGS.threads, "rounds": ARGS.rounds,
      "data": {"users": matrix.shape[0], "items": matrix.shape[1], "pairs": int(matrix.nnz),
               "seed": ARGS.data_seed},
      "batch_size": ARGS.batch_size, "embedding_dim": ARGS.dim,
      "steps_per_call": ARGS.steps_per_call, "sides": {}}
  for name, values in seconds.items():
    median = statistics.median(values)
    results["sides"][name] = {
        "epoch_seconds": values, "median_epoch_seconds": median,
        "first_epoch_seconds": warmup[name], "steps_per_epoch": sides[name].steps,
        "ms_per_step": 1000 * median / sides[name].steps,
        "triplets_per_second": sides[name].steps * ARGS.batch_size / median}
  # Ratios of medians, and the median of per-round ratios (robust to a stalled round).
  ratios = {}
  for top, bottom in (("fused", "implicit"), ("per_batch", "implicit"), ("apr", "fused"),
                      ("per_batch", "fused")):
    if top in seconds and bottom in seconds:
      per_round = [a / b for a, b in zip(seconds[top], seconds[bottom])]
      step = lambda name: results["sides"][name]["ms_per_step"]
      ratios[f"{top}_over_{bottom}"] = {"of_medians": step(top) / step(bottom),
                                         "median_per_round": statistics.median(per_round)}
  results["ratios"] = ratios
  results["targets"] = {"fused_over_implicit": 2.0, "apr_over_fused": 1.5}
  results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  print(json.dumps({"sides": {n: {k: v for k, v in s.items() if k != "epoch_seconds"}
                              for n, s in results["sides"].items()}, "ratios": ratios},
                   indent=1))
  write_json(ARGS.output, results)
  print(f"wrote {ARGS.output}")


if __name__ == "__main__":
  main()
