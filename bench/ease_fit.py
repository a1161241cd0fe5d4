"""Benchmark: EASE's L2 sweep at the ML-20M and MSD catalogue sizes: peak RSS and cost per L2 value.

  python bench/ease_fit.py [--shapes ml20m,msd] [--grid_ml20m 10,50,...] [--grid_msd 200,1000,5000]
                           [--real] [--before /tmp/before] [--output bench/results/ease_fit.json]

Each shape runs in a fresh subprocess (so one size's peak RSS cannot hide
another's), on synthetic data of that shape:

  ml20m: 136,677 users x 20,108 items, 10.0M interactions;
  msd:   571,355 users x 41,140 items, 33.6M interactions.

Synthetic data, deterministic in `--seed` (numpy's default_rng(seed)): item
popularity is Zipf-like, p_i proportional to rank_i^-0.8 with the ranks a
seeded permutation of the items; user activity is log-normal (sigma 1), scaled
so that the counts, clipped to [5, items / 4], add up to the shape's
interactions; each user's items are drawn by popularity without repetition
(draws with replacement, duplicates dropped and the shortfall redrawn, up to 20
rounds). 2,000 seeded users are held out for validation, 80% of their items as
the fold-in history and 20% as targets.

In the subprocess, in order:
1. the Gram matrix (`ease.gram_matrix`, float32);
2. the L2 sweep `ease.select_l2(train, grid, recall@20 on the validation
   users)`: per L2 value its fit and scoring seconds, which value won, whether
   the best was kept or refitted, and the process's peak RSS after it
   (`resource.getrusage(RUSAGE_SELF).ru_maxrss`: data + Gram + sweep);
3. interleaved on the same Gram and working matrix: reference, L2 value,
   reference, ..., reference, where a reference is one float32 LAPACK `spotrf`
   + `spotri` of that size (the copy of the Gram not timed) and an L2 value is
   one `EASE.fit(..., gram=gram, out=work)` (copy, potrf, potri, symmetrise, B
   = -P / diag(P)); each L2 value's ratio divides its seconds by the mean of the
   two references around it. Targets: ratio <= 1.3, MSD peak RSS <= 16 GB.

`--before DIR` runs the same sweep on the code in DIR (PYTHONPATH=DIR) through
the API it had (`EASE.gram`, then `EASE(l2).fit(train, gram=gram)` per value,
the best kept, as `run_baseline` did), without the interleaved phase.
`--real` adds the median Gram and fit seconds on ml100k and the ML-1M Mult-VAE split.
The JSON records the command, the BLAS (threadpoolctl when installed, else the
numpy/scipy build configuration) and the grids.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from tfrankcf.baselines import EASE
from tfrankcf.baselines import ease as ease_module

try:
  from tfrankcf.baselines import spd_inverse
except ImportError:  # --before: the old code has no tiled inverse (and no interleaved phase)
  spd_inverse = None

ML1M_VAECF = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ml-1m-vaecf")
SHAPES = {"ml20m": (136_677, 20_108, 10_000_000), "msd": (571_355, 41_140, 33_600_000),
          "tiny": (10_000, 2_000, 200_000)}  # tiny: a smoke test of the bench itself
GRIDS = {"ml20m": (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0),  # run.py's grid
         "msd": (5000.0, 1000.0), "tiny": (1000.0, 100.0, 10.0)}
# msd's short grid runs downwards: the synthetic data favour large L2, so its best comes first
# and the sweep takes the refit path (3 n^2 floats exceed KEEP_BEST_BYTES), its worst case.
VALIDATION_USERS = 2000
GB = 1e9


def synthetic_matrix(num_users: int, num_items: int, interactions: int, seed: int):
  """Zipf-like popularity, log-normal activity (see the module docstring); binary csr."""
  rng = np.random.default_rng(seed)
  popularity = np.empty(num_items)
  popularity[rng.permutation(num_items)] = np.arange(1, num_items + 1) ** -0.8
  popularity /= popularity.sum()
  raw = rng.lognormal(0.0, 1.0, num_users)
  scale = interactions / raw.sum()
  for _ in range(10):
    counts = np.clip(np.rint(raw * scale), 5, num_items // 4).astype(np.int64)
    scale *= interactions / counts.sum()
  keys = np.zeros(0, np.int64)
  wanted = counts.copy()
  for _ in range(20):
    users = np.repeat(np.arange(num_users, dtype=np.int64), wanted)
    items = np.searchsorted(np.cumsum(popularity), rng.random(users.size), side="right")
    keys = np.union1d(keys, users * num_items + np.minimum(items, num_items - 1))
    wanted = np.maximum(counts - np.bincount(keys // num_items, minlength=num_users), 0)
    if not wanted.any():
      break
  users, items = keys // num_items, keys % num_items
  return sp.csr_matrix((np.ones(keys.size, np.float32), (users, items)),
                       shape=(num_users, num_items))


def validation_split(matrix: sp.csr_matrix, seed: int):
  """(train, fold_in, targets): VALIDATION_USERS held-out users, 80/20 of their items."""
  rng = np.random.default_rng(seed + 1)
  heldout = np.zeros(matrix.shape[0], bool)
  heldout[rng.choice(matrix.shape[0], VALIDATION_USERS, replace=False)] = True
  valid = matrix[heldout].tocoo()
  target = rng.random(valid.nnz) < 0.2
  parts = [sp.csr_matrix((valid.data[mask], (valid.row[mask], valid.col[mask])), shape=valid.shape)
           for mask in (~target, target)]
  return matrix[~heldout].tocsr(), parts[0], parts[1]


def recall_at_20(fold_in: sp.csr_matrix, targets: sp.csr_matrix, batch: int = 500):
  """score_fn of the sweep: mean recall@20 (hits / min(20, |targets|)), history excluded."""

  def score(model):
    recalls = []
    for start in range(0, fold_in.shape[0], batch):
      history, wanted = fold_in[start:start + batch], targets[start:start + batch]
      scores = model.score(None, history)
      rows, columns = history.nonzero()
      scores[rows, columns] = -np.inf
      top = np.argpartition(-scores, 20, axis=1)[:, :20]
      hits = np.take_along_axis(wanted.toarray() > 0, top, axis=1).sum(axis=1)
      count = wanted.getnnz(axis=1)
      recalls.append((hits / np.maximum(np.minimum(20, count), 1))[count > 0])
    return float(np.mean(np.concatenate(recalls)))

  return score


def progress(message: str) -> None:
  print(f"[ease_fit {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_bytes() -> int:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def timed(function) -> dict:
  """Wall and process CPU seconds (all threads) of `function()`, and the 1-minute load after."""
  wall, cpu = time.perf_counter(), time.process_time()
  function()
  return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
          "load_1min": os.getloadavg()[0]}


# Above this many items the whole-matrix spotrf of scipy's OpenBLAS (2 threads) crashes (SIGSEGV
# in its threaded ssyrk; see tfrankcf/baselines/spd_inverse.py), so only the tiled reference runs.
LAPACK_WHOLE_MAX = 26_000


def reference(kind: str, gram: np.ndarray, work: np.ndarray, shift: float) -> dict:
  """One float32 potrf + potri of the shifted Gram in `work`, timed (the copy not timed).

  kind "lapack": scipy.linalg.lapack.spotrf + spotri on the whole matrix; "tiled":
  `spd_inverse.invert_lower`, the same LAPACK calls up to its WHOLE_MAX rows and its
  tiled potrf / trtri / lauum above (what EASE runs).
  """
  np.copyto(work, gram)
  work.ravel()[::work.shape[0] + 1] += np.float32(shift)

  def lapack_potrf_potri():
    factor, info = lapack.spotrf(work.T, lower=1, clean=0, overwrite_a=1)
    assert info == 0, info
    _, info = lapack.spotri(factor, lower=1, overwrite_c=1)
    assert info == 0, info

  def tiled():
    assert spd_inverse.invert_lower(work.T) == 0

  return {"kind": kind, **timed(lapack_potrf_potri if kind == "lapack" else tiled)}


def child(shape: str, grid, seed: int, before: bool) -> dict:
  """One shape, in this (fresh) process: Gram, sweep, interleaved references."""
  import tfrankcf  # pylint: disable=g-import-not-at-top
  num_users, num_items, interactions = SHAPES[shape]
  out = {"shape": shape, "seed": seed, "code": os.path.dirname(os.path.dirname(tfrankcf.__file__)),
         "grid": list(grid), "validation_users": VALIDATION_USERS}
  start = time.perf_counter()
  matrix = synthetic_matrix(num_users, num_items, interactions, seed)
  train, fold_in, targets = validation_split(matrix, seed)
  out.update(users=matrix.shape[0], items=num_items, interactions=int(matrix.nnz),
             train_users=train.shape[0], train_interactions=int(train.nnz),
             generate_seconds=time.perf_counter() - start)
  del matrix
  out["peak_rss_bytes"] = {"after_data": peak_rss_bytes()}
  progress(f"{shape}: {out['interactions']} interactions in {out['generate_seconds']:.0f} s")
  score_fn = recall_at_20(fold_in, targets)
  score_seconds = []

  def timed_score(model):
    begin = time.perf_counter()
    value = score_fn(model)
    score_seconds.append(time.perf_counter() - begin)
    progress(f"{shape} sweep: l2 {model.l2:g} recall@20 {value:.4f}")
    return value

  start = time.perf_counter()
  gram = EASE.gram(train)
  out.update(gram_seconds=time.perf_counter() - start, gram_dtype=str(gram.dtype),
             gram_density=float(np.count_nonzero(gram) / gram.size))
  out["peak_rss_bytes"]["after_gram"] = peak_rss_bytes()
  start = time.perf_counter()
  if before:  # the sweep as run_baseline ran it on the old API
    best_value, model, selection = -np.inf, None, []
    for l2 in grid:
      begin = time.perf_counter()
      candidate = EASE(l2).fit(train, gram=gram)
      fit_seconds = time.perf_counter() - begin
      value = timed_score(candidate)
      selection.append({"l2": l2, "valid": value, "fit_seconds": fit_seconds})
      if value > best_value:
        best_value, model = value, candidate
  else:
    model, selection = ease_module.select_l2(train, grid, timed_score, gram=gram)
  sweep_seconds = time.perf_counter() - start
  best = [row["l2"] for row in selection].index(model.l2)
  kept = 3 * num_items**2 * 4 <= getattr(ease_module, "KEEP_BEST_BYTES", np.inf)
  refitted = not before and best != len(grid) - 1 and not kept
  out["sweep"] = {
      "seconds": sweep_seconds,
      "per_l2": [{"l2": row["l2"], "recall@20": row["valid"], "fit_seconds": row["fit_seconds"],
                  "score_seconds": seconds} for row, seconds in zip(selection, score_seconds)],
      "selected_l2": model.l2, "best_was_last": best == len(grid) - 1,
      "best_kept_as_a_copy": bool(kept and best != len(grid) - 1), "refitted": refitted,
      "refit_seconds": model.fit_seconds if refitted else 0.0}
  out["peak_rss_bytes"]["after_sweep"] = peak_rss_bytes()
  if before:
    return out
  work = model.weights  # the sweep's working matrix (or the kept copy): no third n x n matrix
  del model
  shift = float(np.median(grid))
  kinds = ("lapack", "tiled") if num_items <= LAPACK_WHOLE_MAX else ("tiled",)
  sequence = [reference(kind, gram, work, shift) for kind in kinds]
  for l2 in grid:
    fit = timed(lambda: EASE(l2).fit(train, gram=gram, out=work))  # pylint: disable=cell-var-from-loop
    sequence.append({"kind": "l2", "l2": l2, **fit})
    sequence += [reference(kind, gram, work, shift) for kind in kinds]
    progress(f"{shape} interleaved: " + ", ".join(
        f"{row['kind']} {row['seconds']:.1f}" for row in sequence[-1 - 2 * len(kinds):]))
  ratios = []
  for index, row in enumerate(sequence):
    if row["kind"] != "l2":
      continue
    entry = {"l2": row["l2"], "seconds": row["seconds"], "cpu_seconds": row["cpu_seconds"]}
    for kind in kinds:
      before = next(r for r in reversed(sequence[:index]) if r["kind"] == kind)
      after = next(r for r in sequence[index + 1:] if r["kind"] == kind)
      for clock in ("seconds", "cpu_seconds"):
        around = (before[clock] + after[clock]) / 2
        entry[f"{kind}_reference_{clock}"] = around
        entry[f"ratio_to_{kind}" + ("_cpu" if clock == "cpu_seconds" else "")] = row[clock] / around
    ratios.append(entry)
  target_kind = kinds[0]
  references = [row["seconds"] for row in sequence if row["kind"] == target_kind]
  out["interleaved"] = {
      "reference_kinds": list(kinds), "target_reference": target_kind,
      "reference_shift": shift, "sequence": sequence, "ratios": ratios,
      "max_ratio": max(row[f"ratio_to_{target_kind}"] for row in ratios),
      "max_cpu_ratio": max(row[f"ratio_to_{target_kind}_cpu"] for row in ratios),
      "median_ratio": statistics.median(row[f"ratio_to_{target_kind}"] for row in ratios),
      # Robust to a shared machine's stalls: every L2 value costs the same work, so the fastest
      # L2 value against the fastest reference estimates the undisturbed ratio.
      "fastest_ratio": min(row["seconds"] for row in ratios) / min(references),
      "sweep_fit_ratios_to_median_reference": [row["fit_seconds"] / statistics.median(references)
                                               for row in out["sweep"]["per_l2"]]}
  out["peak_rss_bytes"]["after_interleaved"] = peak_rss_bytes()
  return out


def run_child(shape: str, grid, seed: int, before: str | None) -> dict:
  """`child` in a fresh interpreter (PYTHONPATH=before for --before); its JSON."""
  env = dict(os.environ)
  if before:
    env["PYTHONPATH"] = before + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
  with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "child.json")
    command = [sys.executable, os.path.abspath(__file__), "--child", shape, "--child_output", path,
               "--seed", str(seed), f"--grid_{shape}", ",".join(f"{l2:g}" for l2 in grid)]
    if before:
      command.append("--child_before")
    subprocess.run(command, check=True, env=env)
    with open(path) as f:
      return json.load(f)


def blas_info() -> dict:
  """threadpoolctl's view of the loaded BLAS when installed, else numpy's and scipy's builds."""
  try:
    import threadpoolctl  # pylint: disable=g-import-not-at-top
    return {"threadpoolctl": threadpoolctl.threadpool_info()}
  except ImportError:
    pass
  info = {"threadpoolctl": "not installed"}
  for name, module in (("numpy", np), ("scipy", __import__("scipy"))):
    try:
      config = module.show_config(mode="dicts")["Build Dependencies"]
      info[name] = {part: config[part].get("openblas configuration", config[part].get("name"))
                    for part in ("blas", "lapack") if part in config}
    except Exception as error:  # pylint: disable=broad-except
      info[name] = f"unavailable: {error}"
  info["env"] = {key: value for key, value in os.environ.items()
                 if key.startswith(("OPENBLAS", "OMP_", "MKL_"))}
  return info


def _median_seconds(function, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    function()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def measure_real(train, repeats):
  """Median seconds of the Gram and of one fit at L2 500 on a real training matrix."""
  gram = EASE.gram(train)
  return {"users": train.shape[0], "items": train.shape[1], "interactions": int(train.nnz),
          "gram_seconds": _median_seconds(lambda: EASE.gram(train), repeats),
          "fit_seconds": _median_seconds(lambda: EASE(500.0).fit(train, gram=gram), repeats)}


def real_datasets(repeats: int) -> dict:
  from tfrankcf import datasets  # pylint: disable=g-import-not-at-top
  from tfrankcf.protocols import load_vaecf_split, make_split  # pylint: disable=g-import-not-at-top
  results = {}
  ml100k = make_split("loo_sampled", datasets.load_dataset("ml100k").interactions, 0)
  results["ml100k_loo_sampled"] = measure_real(ml100k.train, repeats)
  if os.path.isdir(ML1M_VAECF):
    results["ml1m_vaecf"] = measure_real(load_vaecf_split(ML1M_VAECF).train, repeats)
  return results


def _grid(text):
  return tuple(float(value) for value in text.split(","))


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "ease_fit.json"))
  parser.add_argument("--shapes", default="ml20m,msd", help="comma-separated, run in this order")
  parser.add_argument("--seed", type=int, default=0)
  for shape, grid in GRIDS.items():
    parser.add_argument(f"--grid_{shape}", type=_grid, default=grid,
                        help=f"L2 values at the {shape} shape (default {grid})")
  parser.add_argument("--before", default=None,
                      help="a checkout of the old code: sweep with it instead (no interleaving)")
  parser.add_argument("--real", action="store_true",
                      help="also time the Gram and one fit on ml100k and ML-1M")
  parser.add_argument("--repeats", type=int, default=5, help="--real: repeats per median")
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--child_output", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--child_before", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    result = child(args.child, getattr(args, f"grid_{args.child}"), args.seed, args.child_before)
    with open(args.child_output, "w") as f:
      json.dump(result, f)
    return
  from tfrankcf.training.results import write_json  # pylint: disable=g-import-not-at-top
  results = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
             "cpu_count": os.cpu_count(), "machine": platform.machine(), "blas": blas_info(),
             "before": args.before, "shapes": {}}
  for shape in [name for name in args.shapes.split(",") if name]:
    size = run_child(shape, getattr(args, f"grid_{shape}"), args.seed, args.before)
    peak = size["peak_rss_bytes"]["after_sweep"]
    size["targets"] = {"sweep_peak_rss_gb": peak / GB, "sweep_peak_rss_gib": peak / 2**30}
    if "interleaved" in size:
      size["targets"]["max_ratio_to_potrf_potri"] = size["interleaved"]["max_ratio"]
      size["targets"]["max_cpu_ratio_to_potrf_potri"] = size["interleaved"]["max_cpu_ratio"]
      size["targets"]["median_ratio_to_potrf_potri"] = size["interleaved"]["median_ratio"]
      size["targets"]["fastest_ratio_to_potrf_potri"] = size["interleaved"]["fastest_ratio"]
      size["targets"]["ratio_within_1.3"] = size["interleaved"]["max_ratio"] <= 1.3
    if shape == "msd":
      size["targets"]["peak_within_16gb"] = peak <= 16 * GB
    results["shapes"][shape] = size
    write_json(args.output, results)  # each shape as it finishes
    print(json.dumps({shape: size["targets"]}), flush=True)
  if args.real:
    results["datasets"] = real_datasets(args.repeats)
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
