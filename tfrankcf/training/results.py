"""results.json and per-user metric files, written atomically.

Nothing half-written is ever left under the final name: every file is written
to a temporary file in the same directory (`.<name>...`, which `--overwrite`
removes if a kill left one) and renamed over the target.
"""

import json
import math
import os
import platform
import tempfile

import numpy as np


def jsonable(value):
  """`value` with JSON types only: numpy values as Python ones, tuples as lists, NaN/inf as None."""
  if isinstance(value, dict):
    return {str(k): jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return jsonable(value.tolist())
  if isinstance(value, (np.floating, float)):
    value = float(value)
    return value if math.isfinite(value) else None
  if isinstance(value, np.integer):
    return int(value)
  return value


def _umask_mode() -> int:
  """The mode a plain `open(path, "w")` would give: 0666 minus the umask."""
  umask = os.umask(0)
  os.umask(umask)
  return 0o666 & ~umask


def _replace(temporary: str, path: str) -> None:
  """Renames `temporary` over `path` with the umask's mode (tempfile makes 0600 files)."""
  os.chmod(temporary, _umask_mode())
  os.replace(temporary, path)


def write_atomic(path: str, data: bytes) -> None:
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  with tempfile.NamedTemporaryFile(dir=directory, delete=False,
                                   prefix="." + os.path.basename(path)) as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
  _replace(f.name, path)


def write_json(path: str, payload: dict) -> None:
  """Writes `payload` as indented JSON; NaN/inf become null."""
  write_atomic(path, (json.dumps(jsonable(payload), indent=2) + "\n").encode())


def write_per_user(path: str, arrays: dict) -> None:
  """Per-user metric arrays (for paired significance tests), as .npz."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".npz",
                                   prefix="." + os.path.basename(path)) as f:
    np.savez_compressed(f, **arrays)
  _replace(f.name, path)


def environment() -> dict:
  """Versions and machine facts recorded with every result."""
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  info = {"python": platform.python_version(), "cpu_count": os.cpu_count()}
  for package in ("tfrankcf", "tensorflow-cpu", "tensorflow", "tensorflow-ranking",
                  "numpy", "scipy", "pandas"):
    try:
      info[package] = metadata.version(package)
    except metadata.PackageNotFoundError:
      pass
  return info
