"""Benchmark: CF-SFL's validation NDCG@100 and inference time against the unroll steps T.

  python bench/cfsfl_unroll.py [--steps 0,2,4,6,8] [--ml100k] \
      [--output bench/results/cfsfl_unroll.json]

The paper's Figure 4: NDCG@100 for T = 0..12 and inference time linear in T.
Stages 1 and 2 (recommender, then reward estimator, both with v = 0) do not
depend on T, so they run once; every T then continues from that checkpoint
through the joint stage. Per T the JSON records the validation NDCG@100 after
every joint epoch (best and last), and the median seconds to score 1000
validation users (after a warm-up, over --timing_repeats passes); a
least-squares line time = a + b * T summarises the cost.

On the ML-1M Mult-VAE split (../shared/data/ml-1m-vaecf; skipped with a
message when absent) or, with --ml100k, the embedded ML-100K strong split.
With the paper's stage lengths (150 + 10 + 50 epochs) this is a long run.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import DEFAULT_BATCH_SIZE
from tfrankcf.methods.cfsfl import CFSFL, CFSFLConfig, recommender_for, recommender_objective
from tfrankcf.metrics import evaluate
from tfrankcf.protocols import load_vaecf_split
from tfrankcf.training.config import RunConfig
from tfrankcf.training.results import write_json
from tfrankcf.training.run import load_run_split, seed_everything

ML1M_VAECF = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                          "ml-1m-vaecf")
TIMING_USERS = 1000


def _model(split, config: CFSFLConfig, seed: int) -> CFSFL:
  seed_everything(seed)
  actor = recommender_for(split.num_items, config)
  model = CFSFL(actor, recommender_objective(config, DEFAULT_BATCH_SIZE), config, seed=seed)
  model.compile(optimizer=model.actor_optimizer)
  return model


def _train(model, rows, epochs):
  for epoch in epochs:
    model.epoch.assign(epoch)
    dataset = rows(epoch)
    model.prepare_epoch(epoch, dataset)
    model.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, verbose=0)


def _ndcg(scorer, eval_set) -> float:
  return evaluate(scorer, eval_set, ks=(100,), metric_names=("ndcg",)).means["ndcg@100"]


def _seconds_per_1000_users(model, eval_set, repeats: int) -> float:
  """Median seconds of the T-step scoring graph over the validation users, per 1000.

  The users' histories are densified beforehand (the evaluator's work, not
  the model's); one untimed pass first traces the graph for the timed shapes.
  """
  scores = tf.function(lambda history: model.predict_scores(None, history))
  batches = [tf.constant(eval_set.inputs[begin:begin + TIMING_USERS].toarray()
                         .astype(np.float32))
             for begin in range(0, eval_set.num_users, TIMING_USERS)]
  times = []
  for repeat in range(repeats + 1):
    start = time.perf_counter()
    for batch in batches:
      scores(batch).numpy()
    if repeat:
      times.append(time.perf_counter() - start)
  return statistics.median(times) * TIMING_USERS / eval_set.num_users


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--steps", default="0,2,4,6,8", help="values of T")
  parser.add_argument("--ml100k", action="store_true",
                      help="the embedded ML-100K strong split instead of ML-1M")
  parser.add_argument("--recommender_epochs", type=int, default=150)
  parser.add_argument("--reward_epochs", type=int, default=10)
  parser.add_argument("--joint_epochs", type=int, default=50)
  parser.add_argument("--timing_repeats", type=int, default=5)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "cfsfl_unroll.json"))
  args = parser.parse_args()
  if args.ml100k:
    dataset = "ml100k"
    split = load_run_split(RunConfig(method="cfsfl", dataset=dataset, protocol="strong",
                                     seed=args.seed))
  else:
    if not os.path.isdir(ML1M_VAECF):
      print(f"skipped: {os.path.abspath(ML1M_VAECF)} not present (use --ml100k)")
      return
    dataset = "ml-1m-vaecf"
    split = load_vaecf_split(ML1M_VAECF)
  steps = [int(v) for v in args.steps.split(",")]
  schedule = dict(recommender_epochs=args.recommender_epochs,
                  reward_epochs=args.reward_epochs, joint_epochs=args.joint_epochs)
  rows = UserRows(split.train, batch_size=DEFAULT_BATCH_SIZE, seed=args.seed)
  joint_start = args.recommender_epochs + args.reward_epochs

  start = time.perf_counter()
  pretrained = _model(split, CFSFLConfig(unroll_steps=0, **schedule), args.seed)
  _train(pretrained, rows, range(joint_start))
  pretrain_seconds = time.perf_counter() - start
  pretrained_ndcg = _ndcg(pretrained, split.valid)
  print(f"stages 1-2 ({joint_start} epochs): {pretrain_seconds:.0f} s, "
        f"valid NDCG@100 {pretrained_ndcg:.4f}", flush=True)
  with tempfile.TemporaryDirectory() as directory:
    path = tf.train.Checkpoint(model=pretrained).write(os.path.join(directory, "stage2"))
    per_t = {}
    for t in steps:
      model = _model(split, CFSFLConfig(unroll_steps=t, **schedule), args.seed)
      tf.train.Checkpoint(model=model).read(path).assert_consumed()
      curve = []
      start = time.perf_counter()
      for epoch in range(joint_start, joint_start + args.joint_epochs):
        _train(model, rows, [epoch])
        curve.append(_ndcg(model, split.valid))
        print(f"T={t} joint epoch {epoch + 1 - joint_start}/{args.joint_epochs}: "
              f"valid NDCG@100 {curve[-1]:.4f}", flush=True)
      seconds = time.perf_counter() - start
      model.epoch.assign(joint_start + max(args.joint_epochs - 1, 0))  # the loop is on
      per_t[str(t)] = {
          "valid_ndcg@100_last": curve[-1] if curve else pretrained_ndcg,
          "valid_ndcg@100_best": max(curve) if curve else pretrained_ndcg,
          "valid_ndcg@100_curve": curve,
          "joint_train_seconds": seconds,
          "inference_seconds_per_1000_users": _seconds_per_1000_users(
              model, split.valid, args.timing_repeats),
      }
      print(f"T={t}: {json.dumps({k: v for k, v in per_t[str(t)].items() if 'curve' not in k})}",
            flush=True)

  times = np.array([per_t[str(t)]["inference_seconds_per_1000_users"] for t in steps])
  fit = {}
  if len(steps) >= 2:
    slope, intercept = np.polyfit(steps, times, 1)
    predicted = intercept + slope * np.array(steps)
    total = np.sum((times - times.mean()) ** 2)
    fit = {"intercept_seconds": float(intercept), "seconds_per_step": float(slope),
           "r_squared": float(1 - np.sum((times - predicted) ** 2) / total) if total else 1.0}
  results = {
      "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
      "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "tensorflow": tf.__version__, "seed": args.seed,
      "data": {"dataset": dataset, "train_users": split.num_users,
               "items": split.num_items, "valid_users": split.valid.num_users,
               "batch_size": DEFAULT_BATCH_SIZE},
      "schedule": schedule,
      "pretrained_valid_ndcg@100": pretrained_ndcg,
      "pretrain_seconds": pretrain_seconds,
      "by_unroll_steps": per_t,
      "inference_time_linear_fit": fit,
  }
  write_json(args.output, results)
  print(json.dumps({k: v for k, v in results.items() if k != "by_unroll_steps"}, indent=2))


if __name__ == "__main__":
  main()
