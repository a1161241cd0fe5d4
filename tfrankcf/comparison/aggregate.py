"""The numbers of a comparison: mean and std over seeds, the best, paired tests, timing.

Paired tests follow `docs/reproductions.md`: every method is compared with
one reference row, the best *baseline* (`ComparedMethod.baseline`) by mean test
value of the protocol's selection metric (the strongest competitor measured,
hence the conservative choice; the best method when no baseline finished).
For each metric, the per-user test values of the two methods are paired by
user (`user_keys`: each test user's identity on the split, under every
protocol) over their common seeds (user x seed pairs pooled; a closed-form
method's one fit is paired with every seed of the other) for a t-test and a
Wilcoxon signed-rank test, and the per-seed means are paired for a t-test
over seeds. Differences are row minus reference. Runs made on different
splits (their results.json `split` differs) are not paired.
"""

import json
import os
import warnings

import numpy as np

from tfrankcf.comparison.cells import RESULTS
from tfrankcf.metrics.significance import paired_test
from tfrankcf.protocols.reporting import REPORTING


def _load(output_dir: str) -> dict:
  with open(os.path.join(output_dir, RESULTS)) as f:
    results = json.load(f)
  per_user = {}
  path = os.path.join(output_dir, "per_user.npz")
  if os.path.exists(path):
    with np.load(path) as arrays:
      per_user = {name[len("test."):]: arrays[name] for name in arrays.files
                  if name.startswith("test.")}
  split = results.get("split")
  return {"results": results, "per_user": per_user,
          "split": None if split is None else _split_identity(split)}


def _mean_std(values: list) -> tuple:
  """Mean and sample std of the values; std None for one value (a single fit has no spread)."""
  values = np.asarray([v for v in values if v is not None], np.float64)
  if not len(values):
    return None, None
  return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else None


def _split_identity(split: dict) -> dict:
  """What makes two runs' splits the same (not where the split was cached), comparably."""
  return {key: str(value) for key, value in split.items() if key != "cache_path"}


def user_keys(run: dict) -> np.ndarray | None:
  """The identity of each test user of a run's per-user arrays, or None.

  `user_key` as `training.run.write_run` stores it: the user's training row
  where every test user has one, else (strong generalisation: unseen users,
  `user_index` -1) the user's row in the split's test set. Runs written before
  the key existed get the same rule from their `user_index` (their arrays are
  in test-set row order).
  """
  if "user_key" in run:
    return run["user_key"]
  if "user_index" not in run:
    return None
  index = np.asarray(run["user_index"])
  return index if np.all(index >= 0) else np.arange(len(index))


def _aligned(a: dict, b: dict, metric: str) -> tuple:
  """Values of `metric` of two runs on their common test users, in the same order."""
  _, ia, ib = np.intersect1d(user_keys(a), user_keys(b), return_indices=True)
  return a[metric][ia], b[metric][ib]


def _same_split(a: dict | None, b: dict | None) -> bool:
  """False only when both runs recorded their split and the splits differ."""
  return a is None or b is None or a == b


def paired_against(reference: dict, row: dict, metric: str) -> dict | None:
  """Paired tests of `row` minus `reference` on `metric` (see the module docstring).

  Both are {"closed_form": bool, "runs": {key: per-user arrays}, "splits": {key: split
  identity or None}}; pairs of runs made on different splits are left out (listed under
  "other_split").
  """
  ref_runs, row_runs = reference["runs"], row["runs"]
  if reference["closed_form"] and row["closed_form"]:
    pairs = [(ref_key, row_key) for ref_key in ref_runs for row_key in row_runs]
  elif reference["closed_form"]:
    pairs = [(next(iter(ref_runs)), key) for key in row_runs]
  elif row["closed_form"]:
    pairs = [(key, next(iter(row_runs))) for key in ref_runs]
  else:
    pairs = [(key, key) for key in ref_runs if key in row_runs]
  pairs = [(r, k) for r, k in pairs
           if metric in ref_runs[r] and metric in row_runs[k]
           and user_keys(ref_runs[r]) is not None and user_keys(row_runs[k]) is not None]
  other_split = [(r, k) for r, k in pairs
                 if not _same_split(reference["splits"].get(r), row["splits"].get(k))]
  pairs = [pair for pair in pairs if pair not in other_split]
  if not pairs:
    return None
  aligned = [_aligned(ref_runs[r], row_runs[k], metric) for r, k in pairs]
  with warnings.catch_warnings():  # scipy's precision warning for near-identical samples
    warnings.simplefilter("ignore", RuntimeWarning)
    users = paired_test(np.concatenate([a for a, _ in aligned]),
                        np.concatenate([b for _, b in aligned]))
    seeds = paired_test([np.nanmean(a) for a, _ in aligned],
                        [np.nanmean(b) for _, b in aligned])
  return {"pairs": [list(pair) for pair in pairs], "users": users, "seeds": seeds,
          "other_split": [list(pair) for pair in other_split]}


def summarize(outcomes: list, protocol: str) -> dict:
  """Everything the reports show, from the cells' outcomes (`cells.Outcome`)."""
  reporting = REPORTING[protocol]
  methods, order = {}, []
  for outcome in outcomes:
    spec = outcome.cell.method
    if spec.name not in methods:
      order.append(spec.name)
      methods[spec.name] = {
          "name": spec.name, "label": spec.label,
          "role": "baseline" if spec.baseline else "method",
          "closed_form": spec.closed_form, "flagfile": outcome.cell.flagfile,
          "cells": {}, "runs": {}, "splits": {}, "histories": {}}
    entry = methods[spec.name]
    cell = {"seed": outcome.cell.seed, "status": outcome.status,
            "output_dir": outcome.cell.output_dir, "command": list(outcome.cell.command),
            "wall_seconds": outcome.wall_seconds, "error": outcome.error,
            "stale": outcome.stale}
    if outcome.status != "failed":
      loaded = _load(outcome.cell.output_dir)
      results = loaded["results"]
      timing = results.get("timing", {})
      cell.update(metrics=results.get("metrics", {}), best_epoch=results.get("best_epoch"),
                  train_seconds=timing.get("train_seconds"),
                  seconds_per_epoch=timing.get("seconds_per_epoch"),
                  epochs_run=len(results.get("history", [])))
      entry["runs"][outcome.cell.key] = loaded["per_user"]
      entry["splits"][outcome.cell.key] = loaded["split"]
      entry["histories"][outcome.cell.key] = results.get("history", [])
    entry["cells"][outcome.cell.key] = cell

  keys = reporting.keys()
  for entry in methods.values():
    done = [cell for cell in entry["cells"].values() if cell["status"] != "failed"]
    entry["finished"], entry["failed"] = len(done), len(entry["cells"]) - len(done)
    for part in ("valid", "test"):
      entry[part] = {}
      for key in keys:
        values = {k: c["metrics"].get(part, {}).get(key) for k, c in entry["cells"].items()
                  if c["status"] != "failed"}
        mean, std = _mean_std(list(values.values()))
        entry[part][key] = {"mean": mean, "std": std, "values": values}
    train = [c["train_seconds"] for c in done if c.get("train_seconds") is not None]
    wall = [c["wall_seconds"] for c in entry["cells"].values() if c["wall_seconds"] is not None]
    entry["timing"] = {"train_seconds_mean": float(np.mean(train)) if train else None,
                       "train_seconds_total": float(np.sum(train)) if train else None,
                       "wall_seconds_total": float(np.sum(wall)) if wall else None}

  selection = reporting.selection
  finished = [name for name in order if methods[name]["finished"]]
  baselines = [name for name in finished if methods[name]["role"] == "baseline"]
  pool = baselines or finished
  pool = [name for name in pool if methods[name]["test"][selection]["mean"] is not None]
  reference = max(pool, key=lambda n: methods[n]["test"][selection]["mean"]) if pool else None
  best = {}
  for key in keys:
    means = {n: methods[n]["test"][key]["mean"] for n in finished
             if methods[n]["test"][key]["mean"] is not None}
    top = max(means.values()) if means else None
    best[key] = [n for n, m in means.items() if round(m, 4) == round(top, 4)]
  for name in order:
    entry = methods[name]
    entry["vs_reference"], entry["other_split"] = {}, []
    if reference and name != reference and entry["finished"]:
      for key in keys:
        entry["vs_reference"][key] = paired_against(
            {field: methods[reference][field] for field in ("closed_form", "runs", "splits")},
            {field: entry[field] for field in ("closed_form", "runs", "splits")}, key)
      reference_splits = [s for s in methods[reference]["splits"].values() if s is not None]
      entry["other_split"] = sorted(
          key for key, split in entry["splits"].items()
          if not all(_same_split(split, other) for other in reference_splits))
  return {
      "protocol": protocol, "metrics": keys, "selection": selection,
      "reference": reference,
      "reference_rule": ("best baseline by mean test " + selection if baselines
                         else "best method by mean test " + selection + " (no baseline)"),
      "best": best, "order": order, "methods": methods,
  }
