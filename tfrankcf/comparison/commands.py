"""The command line of each (method, seed) cell of a comparison.

A cell runs the method's binary as `python -m tfrankcf.binaries.<binary>`.
Later flags override earlier ones (absl expands a flagfile in place), so the
command is assembled from the weakest source to the strongest:

  1. the binary's own defaults;
  2. the spec's compare defaults (`ComparedMethod.defaults`, e.g. `--epochs=200`);
  3. the method's flagfile `configs/<family>_*.cfg` whose `--protocol` is the
     comparison's and whose `--dataset` is the kind of dataset the
     comparison's `--dataset` holds (`dataset_kind`: a registered name is
     itself; a path is the registered dataset whose release file it is, or a
     Mult-VAE split directory named for one); absent: none is used, and
     `Cell.flagfile_note` says why;
  4. the method's own flags (`--loss=listmle`) and the registry's flags for
     the dataset's kind (the paper's epochs of each loss on ML-100K);
  5. the comparison's `--dataset` (a path overrides the flagfile's name),
     `--protocol`, `--data_dir`, `--seed`,
     `--split_seed` and the cell's `--output_dir`;
  6. the comparison's `--epochs` and `--batch_size`, when given (trained
     methods only; RaCT, CF-SFL and APR take stage lengths instead);
  7. `--extra_flags` (every cell), then `--method_flags` (one method's cells).

A binary defines only the flags of the method it runs, so an `--extra_flags`
setting of some methods only (e.g. `--batches_per_epoch` of the list-wise
ones) is passed with absl's `--undefok`: ignored by a method without it. A
name no registered method has is not: its typo stays a usage error.
"""

import dataclasses
import glob
import os
import re
import sys

from tfrankcf.comparison.dataset_kind import dataset_kind
from tfrankcf.comparison.registry import ComparedMethod
from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.training.config_flags import field_flags

# configs/ of a source checkout (the package is installed editable from it).
DEFAULT_CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "configs")
FIT = "fit"  # the run directory of a closed-form method's one fit


@dataclasses.dataclass(frozen=True)
class Cell:
  """One run of a comparison: a method on one training seed (or its one fit)."""

  method: ComparedMethod
  seed: int
  key: str  # "s<seed>" or "fit"
  output_dir: str
  command: tuple
  flagfile: str | None
  flagfile_note: str = ""  # which flagfile and why, or why none


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


def _same_dataset(configured: str, dataset: str, kind: str | None) -> bool:
  """A flagfile's `--dataset` names the comparison's, or (a path) the same file or kind."""
  if configured == dataset or (kind is not None and configured == kind):
    return True
  if not configured or os.path.basename(configured) == configured:
    return False  # none, or another name
  # A flagfile naming a path (older flagfiles did): the same path, or the same kind.
  if os.path.realpath(configured) == os.path.realpath(dataset):
    return True
  return kind is not None and dataset_kind(configured)[0] == kind


@dataclasses.dataclass(frozen=True)
class FlagfileChoice:
  """The flagfile of one method for a comparison (None: none) and a note saying why."""

  path: str | None
  note: str


def choose_flagfile(spec: ComparedMethod, dataset: str, protocol: str,
                    configs_dir: str | None) -> FlagfileChoice:
  """The flagfile of `spec`'s family for (dataset, protocol) (module docstring, step 3).

  Of several matching files, the one without a `-variant` suffix, then the
  first by name.
  """
  if not spec.family:
    return FlagfileChoice(None, "no flagfile family: the registry's flags only")
  if not configs_dir:
    return FlagfileChoice(None, "--configs_dir is empty")
  candidates = sorted(glob.glob(os.path.join(configs_dir, f"{spec.family}_*.cfg")))
  if not candidates:
    return FlagfileChoice(None, f"no {spec.family}_*.cfg in {configs_dir}")
  kind, why = dataset_kind(dataset)
  matches = []
  for path in candidates:
    values = _flagfile_values(path)
    if (_same_dataset(values.get("dataset", ""), dataset, kind)
        and values.get("protocol") == protocol):
      matches.append(path)
  matches.sort(key=lambda path: "-" in os.path.basename(path)[len(spec.family) + 1:])
  if matches:
    path = os.path.abspath(matches[0])
    via = "" if kind == dataset else f"; --dataset={dataset} is {why}, given after it"
    return FlagfileChoice(path, f"sets --dataset={kind or dataset} --protocol={protocol}{via}")
  if kind is None:
    return FlagfileChoice(None, f"--dataset={dataset} is not a registered dataset ({why}), "
                                "so no flagfile applies")
  about = f"{kind}" if kind == dataset else f"{kind} (--dataset={dataset} is {why})"
  return FlagfileChoice(None, f"none of {', '.join(os.path.basename(p) for p in candidates)} "
                              f"is for {about} under --protocol={protocol}")


def find_flagfile(spec: ComparedMethod, dataset: str, protocol: str,
                  configs_dir: str | None) -> str | None:
  """The path `choose_flagfile` chooses, or None."""
  return choose_flagfile(spec, dataset, protocol, configs_dir).path


def method_flags() -> set:
  """The flags of every registered method's settings (a binary defines its method's only)."""
  return {flag.name for spec in registry.specs() for flag in field_flags(spec.config)}


def _flag_names(args) -> list:
  names = []
  for arg in args:
    name = arg.lstrip("-").split("=", 1)[0]
    names.append(name[2:] if name.startswith("no") and name[2:] in method_flags() else name)
  return list(dict.fromkeys(names))


def parse_method_flags(entries) -> dict:
  """`--method_flags` entries 'METHOD:--flag=value' as {method: [flags]} (InputError if bad)."""
  parsed = {}
  for entry in entries or ():
    method, sep, flag = entry.partition(":")
    if not sep or not method or not flag.startswith("--"):
      raise InputError(f"--method_flags={entry!r}: expected METHOD:--flag=value")
    parsed.setdefault(method, []).append(flag)
  return parsed


def cell_command(spec: ComparedMethod, seed: int, output_dir: str, settings: Settings,
                 flagfile: str | None) -> tuple:
  """The argv of one cell, sources in the module docstring's order."""
  argv = [sys.executable, "-m", f"tfrankcf.binaries.{spec.binary}"]
  argv += spec.defaults
  if flagfile:
    argv.append(f"--flagfile={flagfile}")
  argv += spec.flags
  argv += spec.dataset_flags.get(dataset_kind(settings.dataset)[0], ())
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
  method_only = [name for name in _flag_names(settings.extra_flags) if name in method_flags()]
  if method_only:
    argv.append("--undefok=" + ",".join(method_only))
  argv += settings.method_flags.get(spec.name, ())
  return tuple(argv)


def plan_cells(specs: list, seeds: list, settings: Settings) -> list[Cell]:
  """Every cell of the comparison: one fit per closed-form method, one run per trained seed."""
  unknown = sorted(set(settings.method_flags) - {spec.name for spec in specs})
  if unknown:
    raise InputError(f"--method_flags names {', '.join(unknown)}, not in --methods")
  cells = []
  for spec in specs:
    choice = choose_flagfile(spec, settings.dataset, settings.protocol, settings.configs_dir)
    runs = [(seeds[0], FIT)] if spec.closed_form else [(seed, f"s{seed}") for seed in seeds]
    for seed, key in runs:
      output_dir = os.path.join(settings.output_dir, "runs", spec.name, key)
      cells.append(Cell(spec, seed, key, output_dir,
                        cell_command(spec, seed, output_dir, settings, choice.path),
                        choice.path, choice.note))
  return cells
