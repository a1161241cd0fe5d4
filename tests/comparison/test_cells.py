"""Tests of running cells: results written once, cached afterwards, failures reported."""

import json
import os
import subprocess

import pytest

from tfrankcf.comparison import cells as cells_module
from tfrankcf.comparison.cells import last_line, run_cell, run_cells
from tfrankcf.comparison.commands import Cell
from tfrankcf.comparison.registry import METHODS


def _cell(tmp_path, *flags):
  output_dir = str(tmp_path / "runs" / "ease" / "fit")
  command = ("python", "-m", "tfrankcf.binaries.train_baseline", "--method=ease",
             f"--output_dir={output_dir}", *flags)
  return Cell(METHODS["ease"], 0, "fit", output_dir, command, None)


@pytest.fixture(name="binary")
def fixture_binary(monkeypatch):
  """Replaces the subprocess: writes results.json, or fails like absl does."""
  calls = []

  def fake(argv, stdout, stderr, env, check):
    del env, check
    calls.append(argv)
    stdout.write("training...\n")
    if "--fail" in argv:
      stderr.write("FATAL Flags parsing error: Unknown command line flag 'fail'\n"
                   "Pass --helpshort or --helpfull to see help on flags.\n")
      return subprocess.CompletedProcess(argv, 1)
    if "--no_results" not in argv:
      output_dir = next(a for a in argv if a.startswith("--output_dir="))[len("--output_dir="):]
      with open(os.path.join(output_dir, "results.json"), "w") as f:
        f.write("{}")
    return subprocess.CompletedProcess(argv, 0)

  monkeypatch.setattr(cells_module.subprocess, "run", fake)
  return calls


def test_runs_once_then_cached(tmp_path, binary):
  cell = _cell(tmp_path)
  first = run_cell(cell)
  assert first.status == "ran" and len(binary) == 1 and first.wall_seconds >= 0
  with open(os.path.join(cell.output_dir, "compare_cell.json")) as f:
    record = json.load(f)
  assert record["command"] == list(cell.command) and record["returncode"] == 0
  assert open(os.path.join(cell.output_dir, "stdout.log")).read() == "training...\n"
  second = run_cell(cell)
  assert second.status == "cached" and len(binary) == 1
  assert second.wall_seconds == pytest.approx(first.wall_seconds, abs=1e-12) and not second.stale
  moved = cell.__class__(**{**cell.__dict__, "command": ("/other/python",) + cell.command[1:]})
  assert not run_cell(moved).stale  # another interpreter is the same command
  changed = _cell(tmp_path, "--ease_l2_grid=5")
  assert run_cell(changed).stale and len(binary) == 1


def test_failures(tmp_path, binary):
  failed = run_cell(_cell(tmp_path, "--fail"))
  assert failed.status == "failed"
  assert failed.error == "FATAL Flags parsing error: Unknown command line flag 'fail'"
  silent = run_cell(_cell(tmp_path / "other", "--no_results"))
  assert silent.status == "failed" and "no results.json" in silent.error
  assert len(binary) == 2


def test_progress_lines(tmp_path, binary):
  del binary
  lines = []
  run_cells([_cell(tmp_path), _cell(tmp_path / "b", "--fail")],
            printer=lambda line, flush: lines.append(line))
  run_cells([_cell(tmp_path)], printer=lambda line, flush: lines.append(line))
  assert lines[0].startswith("[1/2] ease fit: running")
  assert lines[1].startswith("[1/2] ease fit: done in")
  assert lines[3].startswith("[2/2] ease fit: FAILED after") and "stderr.log" in lines[3]
  assert lines[4] == "[1/1] ease fit: cached"


def test_last_line():
  assert last_line("a\n\nerror: x\n  \n") == "error: x"
  assert last_line("") == "(no output)"


def test_jobs_run_the_first_cell_alone_and_keep_the_order(tmp_path):
  started, finished = [], []

  def runner(cell):
    started.append((cell.key, len(finished)))
    finished.append(cell.key)
    return cells_module.Outcome(cell, "ran", wall_seconds=0.0)

  cells = [_cell(tmp_path / str(n)) for n in range(5)]
  cells = [c.__class__(**{**c.__dict__, "key": f"s{n}"}) for n, c in enumerate(cells)]
  outcomes = run_cells(cells, runner=runner, printer=lambda *a, **k: None, jobs=3)
  assert [o.cell.key for o in outcomes] == ["s0", "s1", "s2", "s3", "s4"]
  assert started[0] == ("s0", 0) and all(done >= 1 for _, done in started[1:])
