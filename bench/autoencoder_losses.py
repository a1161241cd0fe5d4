"""Benchmark: Mult-VAE / Mult-DAE epochs with each TF-Ranking reconstruction term.

  python bench/autoencoder_losses.py [--epochs 2] [--losses listmle,approx_ndcg_all]
      [--actors vae,dae] [--output bench/results/autoencoder_losses.json]

On the ML-1M Mult-VAE split (skipped, exit 0, when ../shared/data/ml-1m-vaecf
is absent), for each actor: the median seconds per training epoch (batch 500,
after one warm-up epoch, the variants taking turns every epoch in one process)
of the multinomial term and of each loss on sampled lists of --list_size items
(`approx_ndcg_all`: the full-catalogue ApproxNDCG, --candidates=all), and the
ratio to the multinomial epoch (targets: sampled <= 1.5x, all <= 5x).

The targets are judged on the fastest of the timed epochs of each variant
(`min_seconds_per_epoch`): on a shared 2-core machine an epoch now and then
stalls for seconds outside the training steps (seen in per-batch timings:
every step as fast, the epoch 2x longer), which moves medians of a few epochs
by up to 50% between runs; the minimum is the least disturbed measurement.
Medians and every epoch's time are reported too.

Peak memory: TensorFlow keeps no allocator statistics on CPU, and one process
running every variant would only show the largest, so each variant also runs
one epoch (with tracing) in a child process of its own, which reports its peak
resident memory (VmHWM; ru_maxrss would include the parent's, inherited across
fork) and the growth over its resident memory once the data and model are
built. `--skip_timing` measures only that and replaces the "memory" entry of an
existing --output.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

import tensorflow as tf

from ract_epoch import ML1M_VAECF, interleaved_epoch_times, package_epoch
from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.losses.reconstruction import LIST_LOSSES
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective
from tfrankcf.protocols import is_vaecf_dir, load_vaecf_split
from tfrankcf.training.results import write_json

BATCH = 500
FULL_CATALOGUE = "approx_ndcg_all"
VARIANTS = ("multinomial",) + LIST_LOSSES + (FULL_CATALOGUE,)
TARGETS = {"sampled_over_multinomial": 1.5, "all_over_multinomial": 5.0}


def build(split, actor: str, variant: str, args) -> AutoencoderModel:
  """The actor trained with the term `variant`."""
  tf.keras.utils.set_random_seed(args.seed)
  options = {}
  if variant != "multinomial":
    loss, candidates = (("approx_ndcg", "all") if variant == FULL_CATALOGUE
                        else (variant, "sampled"))
    options = {"reconstruction": loss, "candidates": candidates,
               "list_size": args.list_size, "memory_budget_mb": args.memory_budget_mb}
  model = AutoencoderModel(build_actor(actor, split.num_items), actor_objective(actor, **options),
                           seed=args.seed)
  model.compile(optimizer=model.actor_optimizer)
  return model


def _status_mb(field: str) -> float:
  """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB."""
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith(field + ":"):
        return int(line.split()[1]) / 1024
  raise KeyError(field)


def memory_of(split, actor: str, variant: str, args) -> dict:
  """Peak resident memory of one epoch of one variant (run in a child process)."""
  rows = UserRows(split.train, batch_size=BATCH, seed=args.seed)
  model = build(split, actor, variant, args)
  before = _status_mb("VmRSS")
  package_epoch(model, rows)(0)
  peak = _status_mb("VmHWM")
  return {"peak_rss_mb": peak, "training_growth_mb": peak - before}


def measure_memory_in_children(actors, variants, args) -> dict:
  memory = {}
  for actor in actors:
    memory[actor] = {}
    for variant in variants:
      child = subprocess.run(
          [sys.executable, __file__, f"--memory_of={actor}:{variant}",
           f"--list_size={args.list_size}", f"--memory_budget_mb={args.memory_budget_mb}",
           f"--seed={args.seed}"],
          capture_output=True, text=True, check=True,
          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
      memory[actor][variant] = json.loads(child.stdout.strip().splitlines()[-1])
  return memory


def relevant_pairs_per_batch(split) -> float:
  """Mean training items per batch of 500 users: P of the full-catalogue loss."""
  return split.train.nnz / -(-split.num_users // BATCH)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
  parser.add_argument("--losses", default=",".join(VARIANTS[1:]),
                      help="comma-separated terms besides multinomial: "
                           f"{', '.join(VARIANTS[1:])}")
  parser.add_argument("--actors", default="vae,dae")
  parser.add_argument("--list_size", type=int, default=100)
  parser.add_argument("--memory_budget_mb", type=float, default=1024.0)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--skip_memory", action="store_true",
                      help="no per-variant child processes for peak memory")
  parser.add_argument("--skip_timing", action="store_true",
                      help="only peak memory, written into the existing --output")
  parser.add_argument("--memory_of", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "autoencoder_losses.json"))
  args = parser.parse_args()
  if not is_vaecf_dir(ML1M_VAECF):
    print(f"skipped: no Mult-VAE split at {os.path.normpath(ML1M_VAECF)}")
    return
  split = load_vaecf_split(ML1M_VAECF)
  if args.memory_of:
    actor, variant = args.memory_of.split(":")
    print(json.dumps(memory_of(split, actor, variant, args)))
    return
  losses = [name for name in args.losses.split(",") if name]
  unknown = sorted(set(losses) - set(VARIANTS))
  if unknown:
    parser.error(f"unknown losses {', '.join(unknown)} (choose from {', '.join(VARIANTS)})")
  variants = ["multinomial"] + [name for name in losses if name != "multinomial"]
  actors = [name for name in args.actors.split(",") if name]
  if args.skip_timing:
    with open(args.output) as f:
      results = json.load(f)
    results["memory"] = measure_memory_in_children(actors, variants, args)
    results["memory_command"] = " ".join([os.path.basename(sys.executable)] + sys.argv)
    write_json(args.output, results)
    print(json.dumps(results["memory"], indent=2))
    return

  load_before = os.getloadavg()
  rows = UserRows(split.train, batch_size=BATCH, seed=args.seed)
  epoch_times, seconds, fastest, ratios, median_ratios = {}, {}, {}, {}, {}
  for actor in actors:
    runs = {variant: package_epoch(build(split, actor, variant, args), rows)
            for variant in variants}
    epoch_times[actor] = interleaved_epoch_times(runs, args.epochs)
    seconds[actor] = {v: statistics.median(t) for v, t in epoch_times[actor].items()}
    fastest[actor] = {v: min(t) for v, t in epoch_times[actor].items()}

    def over_multinomial(values):
      return {variant: value / values["multinomial"] for variant, value in values.items()
              if variant != "multinomial"}
    ratios[actor] = over_multinomial(fastest[actor])
    median_ratios[actor] = over_multinomial(seconds[actor])
  load_after = os.getloadavg()
  memory = None if args.skip_memory else measure_memory_in_children(actors, variants, args)

  def meets(actor, variant):
    limit = TARGETS["all_over_multinomial" if variant == FULL_CATALOGUE
                    else "sampled_over_multinomial"]
    return ratios[actor][variant] <= limit

  results = {
      "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
      "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "tensorflow": tf.__version__,
      "intra_op_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
      "load_average_1min": {"before": load_before[0], "after": load_after[0]},
      "data": {"users": split.num_users, "items": split.num_items,
               "interactions": int(split.train.nnz), "batch_size": BATCH,
               "batches_per_epoch": rows.batches_per_epoch,
               "relevant_pairs_per_batch": relevant_pairs_per_batch(split)},
      "list_size": args.list_size, "memory_budget_mb": args.memory_budget_mb,
      "timed_epochs": args.epochs,
      "seconds_per_epoch": seconds,
      "min_seconds_per_epoch": fastest,
      "epoch_seconds": epoch_times,
      "ratio_to_multinomial": ratios,
      "ratio_to_multinomial_of_medians": median_ratios,
      "targets": TARGETS,
      "meets_target": {actor: {variant: meets(actor, variant) for variant in ratios[actor]}
                       for actor in actors},
      "memory": memory,
  }
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
