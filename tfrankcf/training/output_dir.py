"""A run's --output_dir, checked before any work: writable, and this run's or free.

* `check_writable(path)`: `path` is a writable directory, or can be created (its
  nearest existing ancestor is a writable directory); otherwise an `InputError`
  naming the directory and the problem, before the split is loaded or anything
  is written.
* `claim(config, directory)`: a directory holding another run is refused with
  one line naming the first difference(s), before any work; this run's own is
  resumed (the fit loop restarts from its checkpoints).
* `start(config, directory)`: once the run's inputs are loaded, before its first
  write: with `--overwrite` removes the files a run writes (`RUN_FILES`,
  `RUN_DIRS`; never anything else in the directory), then records config.json.
  Under multi-worker training every process does both in its own directory (a
  worker's `workertemp_*`, see `tfrankcf.training.distribution`).

A run is identified by the `RunConfig` recorded in config.json, which every run
writes when it starts (closed-form baselines too), else by results.json's
`config`. Two configurations are the same run when they agree on every field but
`NOT_COMPARED`: settings that say where the run goes or how fast it goes, and
those that legitimately extend a resumed run:

* output_dir, overwrite: where the run is written, and whether afresh;
* epochs, early_stopping_patience: training longer (or stopping later) continues
  the same run from its checkpoints;
* eval_batch_size, steps_per_execution, jit_compile, strategy: how the same
  computation is batched, compiled and placed;
* export_dir, export_top_k: the SavedModel exported after training;
* data_dir: where downloads and cached splits are kept (the split itself is
  named by dataset, protocol, split seed and the protocol's settings);
* the learning rates (`method_config` fields ending in "learning_rate"): a diverged
  run resumes from its last good checkpoint with a lower one (`tfrankcf.training.loop`).

Everything else is compared: method, dataset, protocol, the split seed
(`--split_seed`, or `--seed` without it), seed, batch size, evaluation period,
the protocol's settings and every other method setting (`method_config`, e.g. a
RaCT stage length or Mult-DAE's width), except what a closed-form fit records
after selecting it (a field with `metadata={"flag": False, "recorded": True}`,
EASE's `l2`).
"""

import dataclasses
import glob
import json
import os
import shutil
import tempfile

from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.training.config import RunConfig
from tfrankcf.training.results import jsonable, write_json

CONFIG_FILE = "config.json"  # the run's RunConfig, written when it starts
RESULTS_FILE = "results.json"
PER_USER_FILE = "per_user.npz"
RUN_FILES = (CONFIG_FILE, RESULTS_FILE, PER_USER_FILE)
RUN_DIRS = ("checkpoints", "best", "milestones", "tensorboard")
NOT_COMPARED = ("output_dir", "overwrite", "epochs", "early_stopping_patience",
                "eval_batch_size", "steps_per_execution", "jit_compile", "strategy",
                "export_dir", "export_top_k", "data_dir")
NOT_COMPARED_SETTINGS_SUFFIX = "learning_rate"  # the command line's win on resume
_SHOWN_DIFFERENCES = 3
_UNSET = object()


def _nearest_existing(path: str) -> str:
  """`path` or its nearest ancestor that exists (a file or a directory)."""
  path = os.path.abspath(path)
  while not os.path.lexists(path):
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return path


def _unwritable(directory: str) -> str | None:
  """Why files cannot be created in the existing directory `directory`, or None."""
  if os.statvfs(directory).f_flag & os.ST_RDONLY:
    return f"{directory} is on a read-only file system"
  if not os.access(directory, os.W_OK | os.X_OK):
    return f"no permission to write in {directory}"
  try:  # what access(2) cannot tell (root in /proc, say): really create a file, unnamed
    with tempfile.TemporaryFile(dir=directory):
      pass
  except OSError as error:
    return f"cannot create files in {directory} ({error.strerror or error})"
  return None


def check_writable(path: str, flag: str = "--output_dir") -> None:
  """Raises `InputError` unless `path` is, or can be created as, a writable directory."""
  existing = _nearest_existing(path)
  if os.path.isdir(existing):
    problem = _unwritable(existing)
    if problem is not None:
      raise InputError(f"{flag} is not writable: {problem}", path=path)
    return
  if existing == os.path.abspath(path):
    raise InputError(f"{flag} is a file, not a directory", path=path)
  raise InputError(f"{flag} cannot be created: {existing} is a file, not a directory", path=path)


def recorded_config(directory: str) -> dict | None:
  """The RunConfig fields recorded in `directory` (config.json, else results.json), or None."""
  for name in (CONFIG_FILE, RESULTS_FILE):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
      continue
    try:
      with open(path) as f:
        recorded = json.load(f)
      if name == RESULTS_FILE:
        recorded = recorded["config"]
      if not isinstance(recorded, dict) or "method" not in recorded:
        raise ValueError("no run configuration in it")
      return recorded
    except (OSError, ValueError, KeyError, TypeError) as error:
      raise InputError(f"unreadable {name} ({error}); use another --output_dir or --overwrite",
                       path=path) from error
  return None


def _comparable(values: dict) -> dict:
  """RunConfig fields as JSON values, the split seed resolved, uncompared fields left out.

  A field a run did not record (an older version's run) has its default; the method
  is its canonical name and the settings are typed (an older run's `params` too), so
  a run recorded before typed settings is still the same run.
  """
  try:
    values = RunConfig.from_dict(values).to_dict()
    config_class = registry.get(values["method"]).spec.config
  except InputError:
    config_class = None  # unreadable as a run of a registered method: compared as recorded
  kept = {field.name: field.default for field in dataclasses.fields(RunConfig)}
  kept["method_config"] = {}
  kept.update({name: value for name, value in values.items() if name in kept})
  kept = {name: jsonable(value) for name, value in kept.items() if name not in NOT_COMPARED}
  if kept["split_seed"] is None:
    kept["split_seed"] = kept["seed"]
  recorded = {field.name for field in dataclasses.fields(config_class)
              if field.metadata.get("recorded")} if config_class else set()
  kept["method_config"] = {key: value for key, value in (kept["method_config"] or {}).items()
                           if key not in recorded
                           and not key.endswith(NOT_COMPARED_SETTINGS_SUFFIX)}
  for name in ("dataset", "test_file"):
    if isinstance(kept[name], str) and os.path.exists(kept[name]):
      kept[name] = os.path.realpath(kept[name])
  return kept


def _shown(value) -> str:
  return "unset" if value is _UNSET else repr(value)


def differences(recorded: dict, config: RunConfig) -> list[str]:
  """'<field> <recorded> (this is <new>)' for every compared field that differs.

  A different method is the one difference named (its settings differ with it).
  """
  old = _comparable(recorded)
  new = _comparable(config.to_dict())
  if old["method"] != new["method"]:
    return [f"method {_shown(old['method'])} (this is {_shown(new['method'])})"]
  found = []
  for name, value in new.items():
    if name == "method_config":
      for key in sorted(set(old["method_config"]) | set(value)):
        before, after = old["method_config"].get(key, _UNSET), value.get(key, _UNSET)
        if before != after:
          found.append(f"{key} {_shown(before)} (this is {_shown(after)})")
    elif old[name] != value:
      label = "split seed" if name == "split_seed" else name
      found.append(f"{label} {_shown(old[name])} (this is {_shown(value)})")
  return found


def _run_entries(directory: str) -> list[str]:
  """The paths in `directory` that a run writes (its files, directories, temporary files)."""
  names = list(RUN_FILES) + list(RUN_DIRS)
  paths = [os.path.join(directory, name) for name in names]
  paths = [path for path in paths if os.path.lexists(path)]
  for name in RUN_FILES:  # a killed atomic write's temporary file (results.write_atomic)
    paths += glob.glob(os.path.join(glob.escape(directory), f".{name}*"))
  return paths


def clear_run(directory: str) -> list[str]:
  """Removes the run files and directories in `directory` (nothing else); returns them."""
  removed = _run_entries(directory)
  for path in removed:
    try:
      if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
      else:
        os.remove(path)
    except OSError as error:
      raise InputError(f"--overwrite: cannot remove it ({error.strerror or error})",
                       path=path) from error
  return removed


def claim(config: RunConfig, directory: str) -> None:
  """Refuses `directory` if it holds another run (not with --overwrite); writes nothing."""
  if config.overwrite or not os.path.isdir(directory):
    return
  recorded = recorded_config(directory)
  if recorded is None:
    leftovers = [os.path.basename(path) for path in _run_entries(directory)]
    if leftovers:
      raise InputError(f"holds run files ({', '.join(sorted(leftovers))}) but no {CONFIG_FILE} "
                       "saying which run; use another --output_dir or --overwrite",
                       path=directory)
    return
  found = differences(recorded, config)
  if found:
    shown = ", ".join(found[:_SHOWN_DIFFERENCES])
    if len(found) > _SHOWN_DIFFERENCES:
      shown += f" and {len(found) - _SHOWN_DIFFERENCES} more"
    raise InputError(f"holds a run of {shown}; use another --output_dir or --overwrite",
                     path=directory)


def start(config: RunConfig, directory: str) -> None:
  """The run's first write: with --overwrite the old run's files go, then config.json."""
  if config.overwrite and os.path.isdir(directory):
    clear_run(directory)
  write_json(os.path.join(directory, CONFIG_FILE), config.to_dict())
