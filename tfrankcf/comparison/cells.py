"""Runs the cells of a comparison as subprocesses, skipping finished ones.

A cell is finished when its `results.json` exists (binaries write it
atomically, last): it is then "cached" and never recomputed, so an
interrupted comparison resumes where it stopped (an interrupted trainable
cell resumes from its own checkpoints). A cell to replace (`--rerun`,
`--force`) has its directory removed just before it runs, so it starts
afresh. Each cell's stdout and stderr go to `stdout.log` and `stderr.log` in
its directory (`tail -f` follows a run), and `compare_cell.json` records
its command, exit code and wall time. A failing cell does not stop the
others.
"""

import concurrent.futures
import dataclasses
import json
import os
import shutil
import subprocess
import time

from tfrankcf.comparison.commands import Cell
from tfrankcf.training.results import write_json

RESULTS = "results.json"
CELL_RECORD = "compare_cell.json"
STDOUT = "stdout.log"
STDERR = "stderr.log"


@dataclasses.dataclass
class Outcome:
  """What happened to one cell in this invocation."""

  cell: Cell
  status: str  # "ran", "cached" or "failed"
  wall_seconds: float | None = None  # of the run that produced the results
  error: str | None = None
  stale: bool = False  # cached, but produced by a different command


def _comparable(command) -> list:
  """A command without the interpreter and the output directory (both may move)."""
  return [arg for arg in list(command)[1:] if not arg.startswith("--output_dir=")]


def _read_record(cell: Cell) -> dict:
  try:
    with open(os.path.join(cell.output_dir, CELL_RECORD)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}


def last_line(text: str) -> str:
  """The line that says why a binary failed: its last, bar absl's help hint."""
  lines = [line.strip() for line in text.splitlines()
           if line.strip() and not line.startswith("Pass --helpshort")]
  return lines[-1] if lines else "(no output)"


def run_cell(cell: Cell, env: dict | None = None) -> Outcome:
  """Runs one cell unless its results exist; never raises for a failing cell."""
  if os.path.exists(os.path.join(cell.output_dir, RESULTS)):
    record = _read_record(cell)
    stale = bool(record) and _comparable(record.get("command", [])) != _comparable(cell.command)
    return Outcome(cell, "cached", wall_seconds=record.get("wall_seconds"), stale=stale)
  os.makedirs(cell.output_dir, exist_ok=True)
  environment = dict(os.environ if env is None else env)
  environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  start = time.perf_counter()
  stderr_path = os.path.join(cell.output_dir, STDERR)
  offset = os.path.getsize(stderr_path) if os.path.exists(stderr_path) else 0
  with open(os.path.join(cell.output_dir, STDOUT), "a") as out, open(stderr_path, "a") as err:
    process = subprocess.run(list(cell.command), stdout=out, stderr=err, env=environment,
                             check=False)
  seconds = time.perf_counter() - start
  finished = process.returncode == 0 and os.path.exists(os.path.join(cell.output_dir, RESULTS))
  error = None
  if not finished:
    with open(stderr_path) as err:
      err.seek(offset)
      error = (last_line(err.read()) if process.returncode
               else f"exit 0 but no {RESULTS} was written")
  write_json(os.path.join(cell.output_dir, CELL_RECORD),
             {"command": list(cell.command), "returncode": process.returncode,
              "wall_seconds": seconds, "error": error})
  if not finished:
    return Outcome(cell, "failed", wall_seconds=seconds, error=error)
  return Outcome(cell, "ran", wall_seconds=seconds)


def _run_one(cell: Cell, name: str, runner, printer, replace: bool) -> Outcome:
  if replace and os.path.exists(cell.output_dir):
    shutil.rmtree(cell.output_dir)
    printer(f"{name}: removed the earlier run, running afresh ({cell.output_dir})", flush=True)
  elif not os.path.exists(os.path.join(cell.output_dir, RESULTS)):
    printer(f"{name}: running ({cell.output_dir})", flush=True)
  outcome = runner(cell)
  if outcome.status == "cached":
    note = (f" (WARNING: produced by a different command; --rerun={cell.method.name} "
            "replaces it)" if outcome.stale else "")
    printer(f"{name}: cached{note}", flush=True)
  elif outcome.status == "ran":
    printer(f"{name}: done in {outcome.wall_seconds:.0f} s", flush=True)
  else:
    printer(f"{name}: FAILED after {outcome.wall_seconds:.0f} s: {outcome.error} "
            f"(log: {os.path.join(cell.output_dir, STDERR)})", flush=True)
  return outcome


def run_cells(cells: list, runner=run_cell, printer=print, jobs: int = 1,
              replace=frozenset()) -> list[Outcome]:
  """Runs (or finds) every cell, `jobs` at a time, one progress line per cell.

  Cells whose output directory is in `replace` are run afresh. With jobs > 1
  the first cell runs alone (it creates the shared split cache), then the
  others run concurrently; outcomes keep the cells' order.
  """
  names = [f"[{n}/{len(cells)}] {cell.method.name} {cell.key}" for n, cell in
           enumerate(cells, 1)]

  def one(cell, name):
    return _run_one(cell, name, runner, printer, cell.output_dir in replace)

  if jobs <= 1 or len(cells) <= 1:
    return [one(cell, name) for cell, name in zip(cells, names)]
  first = one(cells[0], names[0])
  with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    rest = pool.map(lambda pair: one(*pair), zip(cells[1:], names[1:]))
    return [first] + list(rest)
