"""The command line of each (method, seed) cell of a comparison.

A cell runs the method's binary as `python -m tfrankcf.binaries.<binary>`.
Later flags override earlier ones (absl expands a flagfile in place), so the
command is assembled from the weakest source to the strongest:

  1. the binary's own defaults;
  2. the registry's defaults (`MethodSpec.defaults`, e.g. `--epochs=200`);
  3. the method's flagfile `configs/<family>_*.cfg` whose `--dataset` and
     `--protocol` are the comparison's (absent: none is used);
  4. the method's own flags (`--loss=listmle`) and the registry's flags for
     the dataset (the paper's epochs of each loss on ML-100K);
  5. the comparison's `--dataset`, `--protocol`, `--data_dir`, `--seed`,
     `--split_seed` and the cell's `--output_dir`;
  6. the comparison's `--epochs` and `--batch_size`, when given (trained
     methods only; RaCT, CF-SFL and APR take stage lengths instead);
  7. `--extra_flags` (every cell), then `--method_flags` (one method's cells).
"""

import dataclasses
import glob
import os
import re
import sys

from tfrankcf.comparison.registry import MethodSpec
from tfrankcf.errors import InputError

# configs/ of a source checkout (the package is installed editable from it).
DEFAULT_CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "configs")
FIT = "fit"  # the run directory of a closed-form method's one fit


@dataclasses.dataclass(frozen=True)
class Cell:
  """One run of a comparison: a method on one training seed (or its one fit)."""

  method: MethodSpec
  seed: int
  key: str  # "s<seed>" or "fit"
  output_dir: str
  command: tuple
  flagfile: str | None


@dataclasses.dataclass(frozen=True)
class Settings:
  """What the comparison fixes for every cell (compare's flags)."""

  dataset: str
  protocol: str
  output_dir: str
  split_seed: int = 0
  data_dir: str | None = None
  epochs: int | None = None
  batch_size: int | None = None
  extra_flags: tuple = ()
  method_flags: dict = dataclasses.field(default_factory=dict)  # name -> flags
  configs_dir: str | None = DEFAULT_CONFIGS_DIR


def _flagfile_values(path: str) -> dict:
  """The `--dataset` and `--protocol` a flagfile sets (comments and other flags skipped)."""
  values = {}
  with open(path) as f:
    for line in f:
      match = re.match(r"\s*--(dataset|protocol)=(\S+)", line)
      if match:
        values[match.group(1)] = match.group(2)
  return values


def _same_dataset(configured: str, dataset: str) -> bool:
  if configured == dataset:
    return True
  return (os.path.sep in configured and os.path.sep in dataset
          and os.path.realpath(configured) == os.path.realpath(dataset))


def find_flagfile(spec: MethodSpec, dataset: str, protocol: str,
                  configs_dir: str | None) -> str | None:
  """The flagfile of `spec`'s family for (dataset, protocol), or None.

  A file matches when it sets this `--dataset` and this `--protocol`; of
  several, the one without a `-variant` suffix, then the first by name.
  """
  if not spec.family or not configs_dir:
    return None
  matches = []
  for path in sorted(glob.glob(os.path.join(configs_dir, f"{spec.family}_*.cfg"))):
    values = _flagfile_values(path)
    if (_same_dataset(values.get("dataset", ""), dataset)
        and values.get("protocol") == protocol):
      matches.append(path)
  matches.sort(key=lambda path: "-" in os.path.basename(path)[len(spec.family) + 1:])
  return os.path.abspath(matches[0]) if matches else None


def parse_method_flags(entries) -> dict:
  """`--method_flags` entries 'METHOD:--flag=value' as {method: [flags]} (InputError if bad)."""
  parsed = {}
  for entry in entries or ():
    method, sep, flag = entry.partition(":")
    if not sep or not method or not flag.startswith("--"):
      raise InputError(f"--method_flags={entry!r}: expected METHOD:--flag=value")
    parsed.setdefault(method, []).append(flag)
  return parsed


def cell_command(spec: MethodSpec, seed: int, output_dir: str, settings: Settings,
                 flagfile: str | None) -> tuple:
  """The argv of one cell, sources in the module docstring's order."""
  argv = [sys.executable, "-m", f"tfrankcf.binaries.{spec.binary}"]
  argv += spec.defaults
  if flagfile:
    argv.append(f"--flagfile={flagfile}")
  argv += spec.flags
  argv += spec.dataset_flags.get(settings.dataset, ())
  argv += [f"--dataset={settings.dataset}", f"--protocol={settings.protocol}"]
  if settings.data_dir:
    argv.append(f"--data_dir={settings.data_dir}")
  argv += [f"--seed={seed}", f"--split_seed={settings.split_seed}",
           f"--output_dir={output_dir}"]
  if not spec.closed_form:
    if settings.epochs is not None:
      argv.append(f"--epochs={settings.epochs}")
    if settings.batch_size is not None:
      argv.append(f"--batch_size={settings.batch_size}")
  argv += settings.extra_flags
  argv += settings.method_flags.get(spec.name, ())
  return tuple(argv)


def plan_cells(specs: list, seeds: list, settings: Settings) -> list[Cell]:
  """Every cell of the comparison: one fit per closed-form method, one run per trained seed."""
  unknown = sorted(set(settings.method_flags) - {spec.name for spec in specs})
  if unknown:
    raise InputError(f"--method_flags names {', '.join(unknown)}, not in --methods")
  cells = []
  for spec in specs:
    flagfile = find_flagfile(spec, settings.dataset, settings.protocol, settings.configs_dir)
    runs = [(seeds[0], FIT)] if spec.closed_form else [(seed, f"s{seed}") for seed in seeds]
    for seed, key in runs:
      output_dir = os.path.join(settings.output_dir, "runs", spec.name, key)
      cells.append(Cell(spec, seed, key, output_dir,
                        cell_command(spec, seed, output_dir, settings, flagfile), flagfile))
  return cells
