"""End-to-end tests of `compare`: real runs on ml100k, resuming, and bad input."""

import json
import os
import subprocess
import sys

import pytest

METHODS = ("ease", "listmle")  # ItemPop is covered by tests/comparison (fake runs)
FILES = ("comparison.md", "comparison.csv", "comparison.json", "curves_hr@5.png",
         "curves_hr@10.png", "curves_hr@20.png", "curves_ndcg@5.png", "curves_ndcg@10.png",
         "curves_ndcg@20.png", "test_metrics.png")


def _compare(tmp_path, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(
      [sys.executable, "-m", "tfrankcf.binaries.compare", f"--output_dir={tmp_path / 'out'}",
       f"--data_dir={tmp_path / 'cache'}", *args],
      capture_output=True, text=True, env=env, timeout=600)


def test_ml100k_comparison_then_a_rerun_that_recomputes_nothing(tmp_path):
  args = [f"--methods={','.join(METHODS)}", "--seeds=2", "--epochs=1", "--jobs=2",
          # Cheap runs: 5 list-wise batches, a 2-value EASE grid, no XLA compile.
          "--extra_flags=--batches_per_epoch=5", "--extra_flags=--nojit_compile",
          "--extra_flags=--steps_per_execution=1", "--method_flags=ease:--ease_l2_grid=200,500"]
  first = _compare(tmp_path, *args)
  assert first.returncode == 0, first.stderr[-3000:]
  out = tmp_path / "out"
  for name in FILES:
    assert (out / name).stat().st_size > 0, name
  with open(out / "comparison.json") as f:
    document = json.load(f)
  assert document["ran"] == 3 and document["cached"] == 0 and document["failed"] == 0
  assert document["reference"] == "ease"  # the best baseline: EASE beats 1-epoch ListMLE
  listmle = document["methods"]["listmle"]
  assert sorted(listmle["cells"]) == ["s0", "s1"] and listmle["finished"] == 2
  assert listmle["vs_reference"]["ndcg@10"]["users"]["n"] == 2 * 943
  results = {}
  for path in sorted(out.glob("runs/*/*/results.json")):
    with open(path) as f:
      results[path] = json.load(f)
  assert len(results) == 3
  assert len({json.dumps(r["split"], sort_keys=True) for r in results.values()}) == 1
  assert sorted((r["method"], r["seed"]) for r in results.values()) == [
      ("ease", 0), ("listmle", 0), ("listmle", 1)]
  table = (out / "comparison.md").read_text()
  assert "| EASE | 1 fit | **0.4783** |" in table  # GuidedRec paper's split: 0.478; one fit
  assert "  ease: no flagfile (no flagfile family: the registry's flags only)" in first.stdout
  assert "graphrec-losses_ml100k.cfg (sets --dataset=ml100k --protocol=loo_sampled)" in (
      first.stdout)
  assert "| ListMLE | 2 |" in table

  mtimes = {path: os.path.getmtime(path) for path in results}
  second = _compare(tmp_path, *args)
  assert second.returncode == 0, second.stderr[-3000:]
  assert second.stdout.count(": cached") == 3 and ": running" not in second.stdout
  assert "0 ran, 3 cached, 0 failed" in second.stdout
  assert {path: os.path.getmtime(path) for path in mtimes} == mtimes
  assert (out / "comparison.md").read_text() == table


@pytest.mark.parametrize("args,expected", [
    (["--methods=ease,graphrec"], "unknown method 'graphrec'"),
    (["--methods=ease,guidedrec", "--protocol=strong"],
     "guidedrec scores users by their training id"),
    (["--methods=ease", "--method_flags=ract:--actor_epochs=1"],
     "--method_flags names ract, not in --methods"),
])
def test_bad_input_is_one_line_and_runs_nothing(tmp_path, args, expected):
  result = _compare(tmp_path, *args)
  assert result.returncode == 2
  error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(error_lines) == 1 and expected in error_lines[0]
  assert not os.path.exists(tmp_path / "out")
