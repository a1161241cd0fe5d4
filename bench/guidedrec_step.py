"""Benchmark: GuidedRec's training step vs the log-loss step, and every TF-Ranking loss's step.

  python bench/guidedrec_step.py [--steps 200] [--output bench/results/guidedrec_step.json]

On ML-100K (943 x 1682, every rating a positive, as the GuidedRec data), with
the GuidedRec ML-100K code's backbone (GraphRec on one-hot ids, d = 20) and
batch (25 lists x 10 items = 250 pairs), it measures the median time of a
compiled `train_step` (batches pre-sampled, so the sampler is not timed):

* GuidedRec (Algorithm 1: log-loss step, true NDCG, surrogate step, NDCG step)
  against the log-loss step of the same backbone (`Supervised`, contrib-AdamW
  1e-5 as the log-loss script). Target: ratio <= 1.5 (the original code: 2.85x
  on this machine; paper Table 6: 3.95x);
* pairs per second of `Supervised` with each loss of `tfrankcf.losses.ranking`;
* the same for GraphRec with graph features.

All models take turns in rounds so they see the same background load. Each
model is timed twice: one `train_step` call per batch (`per_call`), and the
trainer's compiled loop with `--jit_compile --steps_per_execution=50`
(`compiled_loop`: Keras's train function over a repeated in-memory dataset,
the setting of the GuidedRec flagfiles), where per-call overhead is amortised
and XLA fuses each step (not with graph features: their ragged rows have
dynamic shapes, so that loop runs without XLA).
"""

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf import datasets
from tfrankcf.inputs.listwise import ListwiseSampler
from tfrankcf.losses import ranking
from tfrankcf.methods.guidedrec import GuidedRec, GuidedRecConfig
from tfrankcf.methods.supervised import Supervised, SupervisedConfig
from tfrankcf.training.results import write_json

ROUNDS = 5  # timing rounds; the median is reported
LOOP_STEPS = 50  # steps_per_execution of the compiled loop (the GuidedRec flagfiles' value)


def ml100k_matrix() -> sp.csr_matrix:
  """The embedded MovieLens 100K, every rating a positive."""
  return datasets.load_dataset("ml100k").interactions.to_csr()


def models(matrix: sp.csr_matrix, graph_features: bool, with_losses: bool,
           jit_compile: bool = False, steps_per_execution: int = 1) -> dict:
  backbone = {"graph_features": graph_features}
  built = {"guidedrec": GuidedRec(matrix, GuidedRecConfig(**backbone), seed=0),
           "logloss": Supervised(matrix, SupervisedConfig(loss="logloss", weight_decay=1e-5,
                                                          **backbone), seed=0)}
  if with_losses:
    for name in ranking.LOSSES:
      if name != "logloss":
        built[name] = Supervised(matrix, SupervisedConfig(loss=name, **backbone), seed=0)
  for model in built.values():
    model.compile(optimizer=getattr(model, "ranking_optimizer", None)
                  or model.logloss_optimizer,
                  jit_compile=jit_compile and model.supports_jit_compile,
                  steps_per_execution=steps_per_execution)
  return built


def per_call_steps(built: dict, batches: list) -> dict:
  """A timing function per model: one tf.function call per batch."""
  timed = {}
  for name, model in built.items():
    step = tf.function(model.train_step)
    step(batches[0])  # trace

    def run(step=step):
      for batch in batches:
        logs = step(batch)
      logs["loss"].numpy()  # wait for the last step
    timed[name] = run
  return timed


def compiled_loop_steps(built: dict, batches: list, steps_per_execution: int) -> dict:
  """A timing function per model: Keras's train function, `steps_per_execution` per call."""
  stacked = tf.data.Dataset.from_tensor_slices(
      tf.nest.map_structure(lambda *parts: tf.stack(parts), *batches)).repeat()
  calls = len(batches) // steps_per_execution
  timed = {}
  for name, model in built.items():
    train_function = model.make_train_function()
    iterator = iter(stacked)
    train_function(iterator)  # trace and compile

    def run(train_function=train_function, iterator=iterator):
      for _ in range(calls):
        logs = train_function(iterator)
      logs["loss"].numpy()
    timed[name] = run
  return timed


def step_times(matrix: sp.csr_matrix, steps: int, graph_features: bool,
               with_losses: bool, compiled_loop: bool = False) -> dict:
  """Median ms per train_step and pairs per second of each model, interleaved in rounds."""
  sampler = ListwiseSampler(matrix, seed=0)
  if compiled_loop:
    steps -= steps % LOOP_STEPS
  batches = list(sampler(0).take(steps))
  pairs = sampler.lists_per_batch * sampler.list_size
  if compiled_loop:
    built = models(matrix, graph_features, with_losses, jit_compile=True,
                   steps_per_execution=LOOP_STEPS)
    step_fns = compiled_loop_steps(built, batches, LOOP_STEPS)
  else:
    built = models(matrix, graph_features, with_losses)
    step_fns = per_call_steps(built, batches)
  seconds = {name: [] for name in built}
  for _ in range(ROUNDS):
    for name, run in step_fns.items():
      start = time.perf_counter()
      run()
      seconds[name].append(time.perf_counter() - start)
  result = {name: {"ms_per_step": 1000 * statistics.median(values) / steps,
                   "pairs_per_second": steps * pairs / statistics.median(values),
                   "lists_per_second": steps * sampler.lists_per_batch / statistics.median(values)}
            for name, values in seconds.items()}
  result["jit_compile"] = compiled_loop and built["guidedrec"].supports_jit_compile
  result["guidedrec_over_logloss_step"] = (result["guidedrec"]["ms_per_step"]
                                           / result["logloss"]["ms_per_step"])
  return result


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "guidedrec_step.json"))
  args = parser.parse_args()
  matrix = ml100k_matrix()
  result = {
      "environment": {"python": platform.python_version(), "tensorflow": tf.__version__,
                      "cpus": os.cpu_count()},
      "dataset": "ml-100k u.data (all ratings positive)", "shape": list(matrix.shape),
      "lists_per_batch": 25, "list_size": 10, "steps_per_round": args.steps,
      "rounds": ROUNDS,
      "steps_per_execution": LOOP_STEPS,
      "per_call": {
          "one_hot": step_times(matrix, args.steps, graph_features=False, with_losses=True),
          "graph_features": step_times(matrix, args.steps, graph_features=True,
                                       with_losses=False)},
      "compiled_loop": {
          "one_hot": step_times(matrix, args.steps, graph_features=False, with_losses=True,
                                compiled_loop=True),
          "graph_features": step_times(matrix, args.steps, graph_features=True,
                                       with_losses=False, compiled_loop=True)},
  }
  write_json(args.output, result)
  print(json.dumps(result, indent=2))


if __name__ == "__main__":
  main()
