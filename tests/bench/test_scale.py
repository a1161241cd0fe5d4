"""bench/scale.py: the tiny shape end to end, the data's determinism, the projections' sums."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tfrankcf

REPO = Path(__file__).resolve().parents[2]
SCALE_PATH = REPO / "bench" / "scale.py"


def _scale_module():
  """bench/scale.py as a module (bench/ is not a package)."""
  spec = importlib.util.spec_from_file_location("_bench_scale", SCALE_PATH)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


SCALE = _scale_module()
# Every step the default run measures (the EASE sweep only with --ease_sweep).
EXPECTED_STEPS = [step for process in SCALE.PROCESSES for step in SCALE.STEPS[process]]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """One `--shape=tiny` run of every step: (its JSON, its stdout).

  About 1m45s (nine processes that each start TensorFlow), so it runs with
  TFRANKCF_SLOW_TESTS=1 only, like the other end-to-end runs over that budget.
  """
  if not os.environ.get("TFRANKCF_SLOW_TESTS"):
    pytest.skip("the tiny scale run takes ~2 min: set TFRANKCF_SLOW_TESTS=1")
  directory = tmp_path_factory.mktemp("scale")
  output = directory / "scale_tiny.json"
  done = subprocess.run(
      [sys.executable, str(SCALE_PATH), "--shape=tiny", f"--work_dir={directory / 'work'}",
       f"--output={output}"],
      capture_output=True, text=True, cwd=directory, timeout=900, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  with open(output) as f:
    return json.load(f), done.stdout


def test_every_step_has_seconds_and_peak_rss(tiny_run):
  results, _ = tiny_run
  failed = {name: process.get("log_tail") for name, process in results["processes"].items()
            if not process["ok"]}
  assert not failed
  assert list(results["steps"]) == EXPECTED_STEPS
  for name, step in results["steps"].items():
    assert step["seconds"] is not None and step["seconds"] > 0, name
    assert step["peak_rss_bytes"] > 10 * 2**20, name  # a Python process holds > 10 MiB
    assert step["process"] in SCALE.PROCESSES, name
  for name in ("split_strong", "split_loo_full", "validation_vae", "validation_cfsfl",
               "validation_bpr"):
    # A phase's VmHWM is within its process's peak (the kernel's two counters differ by pages).
    step = results["steps"][name]
    assert 10 * 2**20 < step["vm_hwm_bytes"] <= 1.05 * step["peak_rss_bytes"], name


def test_the_data_and_splits_have_the_shape(tiny_run):
  results, _ = tiny_run
  shape, steps = SCALE.SHAPES["tiny"], results["steps"]
  generated = steps["generate"]
  assert (generated["users"], generated["items"]) == (shape.users, shape.items)
  assert abs(generated["interactions"] - shape.interactions) <= 0.01 * shape.interactions
  assert generated["items_per_user"]["min"] >= 5
  assert steps["load"]["rows"] == generated["interactions"]
  strong = steps["split_strong"]
  assert strong["valid_users"] == strong["test_users"] == shape.heldout_users
  assert strong["train_users"] == shape.users - 2 * shape.heldout_users
  assert steps["validation_vae"]["users"] == shape.heldout_users
  assert steps["validation_bpr"]["users"] == shape.users  # loo_full: every user has 5+ items
  assert steps["ease_fit"]["l2"] == [shape.ease_l2]
  assert [steps[name]["stage"] for name in SCALE.STEPS["ract"]] == [
      "actor pre-training", "critic pre-training", "actor-critic"]


def test_the_binaries_ran_on_the_written_file(tiny_run):
  results, _ = tiny_run
  data_file = results["paths"]["file"]
  for process in ("ease", "vae", "ract", "cfsfl", "bpr", "apr"):
    command = results["processes"][process]["command"]
    assert f"--dataset={data_file}" in command, process
    assert os.path.basename(command[0]) in ("train_baseline", "train_ract", "train_cfsfl",
                                            "train_apr")
  assert "--heldout_users=300" in results["processes"]["vae"]["command"]


def test_projections_of_every_schedule(tiny_run):
  results, stdout = tiny_run
  projections = results["projections"]
  assert set(projections) == {"vae", "ract", "cfsfl", "bpr", "apr", "ease_sweep"}
  for name, projection in projections.items():
    assert projection["seconds"] > 0 and math.isfinite(projection["seconds"]), name
    assert projection["source"], name
  assert projections["ease_sweep"]["upper_bound"]
  assert projections["ract"]["schedule"] == dict(zip(SCALE.STEPS["ract"], (150, 50, 50)))
  assert "projection" in stdout and "results:" in stdout
  for key in ("cpu_count", "memory_bytes", "tensorflow", "load_1min_at_end"):
    assert key in results["machine"], key
  assert "--shape=tiny" in results["command"]


def test_the_data_are_deterministic(tmp_path, monkeypatch):
  monkeypatch.syspath_prepend(str(REPO / "bench"))  # the generator lives in bench/ease_fit.py
  contents = []
  for index in range(2):
    options = {"users": 200, "items": 80, "interactions": 2000, "seed": 3,
               "file": str(tmp_path / f"data{index}.csv")}
    SCALE.child_generate(options)
    contents.append(Path(options["file"]).read_bytes())
  assert contents[0] == contents[1]
  assert contents[0].startswith(b"user_id,item_id\n0,")
  options["seed"] = 4
  SCALE.child_generate(options)
  assert Path(options["file"]).read_bytes() != contents[0]


def _epoch(first, steady):
  return {"seconds": steady, "first_epoch_seconds": first}


def test_projection_arithmetic():
  steps = {name: _epoch(3.0, 2.0) for process in ("vae", "ract", "cfsfl", "bpr", "apr")
           for name in SCALE.STEPS[process]}
  steps.update(validation_vae={"seconds": 0.5}, validation_cfsfl={"seconds": 4.0},
               validation_bpr={"seconds": 1.0},
               ease_fit={"seconds": 10.0, "train_seconds": 12.0})
  size = {"ract_stages": [150, 50, 50], "unroll_steps": 6}
  projections = SCALE.projections(steps, size)
  # 200 epochs: the first 3 s, 199 at 2 s; 200 validations and the final valid + test.
  assert projections["vae"]["seconds"] == pytest.approx(3.0 + 199 * 2.0 + 202 * 0.5, abs=1e-9)
  assert projections["ract"]["seconds"] == pytest.approx(
      3 * 3.0 + (149 + 49 + 49) * 2.0 + 252 * 0.5, abs=1e-9)
  assert projections["cfsfl"]["seconds"] == pytest.approx(
      3 * 3.0 + (149 + 9 + 49) * 2.0 + 160 * 0.5 + 52 * 4.0, abs=1e-9)
  assert projections["cfsfl"]["schedule"]["unroll_steps"] == 6
  assert projections["bpr"]["seconds"] == pytest.approx(3.0 + 999 * 2.0 + 52 * 1.0, abs=1e-9)
  assert projections["apr"]["seconds"] == pytest.approx(2 * 3.0 + 2 * 999 * 2.0 + 102 * 1.0,
                                                        abs=1e-9)
  assert projections["ease_sweep"]["seconds"] == pytest.approx(8 * 12.0, abs=1e-9)
  del steps["validation_cfsfl"]
  assert SCALE.projections(steps, size)["cfsfl"]["missing"] == ["validation_cfsfl"]


def test_the_ease_grid_size_is_the_default_grid():
  assert SCALE.SCHEDULES["ease"]["grid_size"] == len(tfrankcf.method_config("ease").l2_grid)


def test_a_failed_step_is_recorded_not_raised(tmp_path):
  record = SCALE.run_process([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
                             str(tmp_path / "log"), dict(os.environ), timeout=60)
  assert not record["ok"] and record["returncode"] == 3 and "boom" in record["log_tail"]
  assert record["error"] == "exit status 3"
  killed = SCALE.run_process([sys.executable, "-c", "import time; time.sleep(30)"],
                             str(tmp_path / "log2"), dict(os.environ), timeout=0.5)
  assert not killed["ok"] and "timed out" in killed["error"]
  steps = SCALE.failed_steps(("a", "b"), record)
  assert steps["a"]["seconds"] is None and steps["b"]["error"] == "exit status 3"
