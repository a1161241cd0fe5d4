"""A method defined in one module outside the package is trained, compared and exported.

`low_rank_items.py` (beside this file) declares its spec, config and model;
nothing in tfrankcf names it. With `TFRANKCF_PLUGINS` pointing at it, the
generic binary `tfrankcf_train`, `compare` (whose runs inherit the
environment) and `export_model` all find it in the registry.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

PLUGIN = pathlib.Path(__file__).parent / "low_rank_items.py"
BIN = pathlib.Path(sys.executable).parent


def _run(command, tmp_path, *args):
  env = dict(os.environ, TFRANKCF_PLUGINS=str(PLUGIN), TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([str(BIN / command), *args], capture_output=True, text=True, env=env,
                        timeout=600, cwd=tmp_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("plugin")
  result = _run("tfrankcf_train", tmp_path, "--method=low_rank_items_r2", "--protocol=strong",
                "--epochs=2", "--rows_per_batch=300", f"--output_dir={tmp_path / 'run'}",
                f"--data_dir={tmp_path / 'cache'}")
  return tmp_path, result


def test_the_generic_binary_trains_a_plugin_method_with_its_own_flags(trained):
  tmp_path, result = trained
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((tmp_path / "run" / "results.json").read_text())
  assert results["method"] == "low_rank_items_r2" and len(results["history"]) == 2
  assert results["config"]["method_config"] == {"rank": 2, "learning_rate": 0.01,
                                                "rows_per_batch": 300}
  assert 0 < results["metrics"]["test"]["ndcg@100"] <= 1
  helped = _run("tfrankcf_train", tmp_path, "--method=low_rank_items", "--help")
  assert helped.returncode == 0 and "--rank: Size of the item factors E and F." in " ".join(
      helped.stdout.split())


def test_export_model_rebuilds_the_plugin_run_from_its_config(trained):
  tmp_path, _ = trained
  result = _run("export_model", tmp_path, f"--run_dir={tmp_path / 'run'}",
                f"--export_dir={tmp_path / 'export'}", "--top_k=5")
  assert result.returncode == 0, result.stderr[-3000:]
  assert (tmp_path / "export" / "saved_model.pb").exists()


def test_compare_runs_the_plugin_method_beside_ease(tmp_path):
  result = _run("compare", tmp_path, "--methods=ease,low_rank_items", "--seeds=1",
                "--protocol=strong", "--epochs=1", f"--output_dir={tmp_path / 'out'}",
                f"--data_dir={tmp_path / 'cache'}", "--method_flags=ease:--ease_l2_grid=500")
  assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
  document = json.loads((tmp_path / "out" / "comparison.json").read_text())
  assert document["failed"] == 0 and set(document["methods"]) == {"ease", "low_rank_items"}
  assert document["methods"]["low_rank_items"]["label"] == "Low-rank item-item"
