"""End-to-end tests of `train_baseline`: the results contract, real-data acceptance, bad input."""

import json
import os
import subprocess
import sys

import pytest

from tfrankcf.methods.closed_form import EASE_L2_GRID
from tfrankcf.training import run
from tfrankcf.training.config import RunConfig

ML1M_VAECF = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                          "ml-1m-vaecf")
CONTRACT_KEYS = {"method", "dataset", "protocol", "seed", "config", "metrics", "history",
                 "timing"}


def _run(tmp_path, method, protocol="loo_sampled", dataset="ml100k", **kwargs):
  config = RunConfig(method=method, dataset=dataset, protocol=protocol, seed=0,
                     output_dir=str(tmp_path / method), data_dir=str(tmp_path / "cache"),
                     **kwargs)
  results = run.run_closed_form(config)
  with open(tmp_path / method / "results.json") as f:
    written = json.load(f)["metrics"]
  for part in ("valid", "test"):
    assert written[part] == results["metrics"][part]  # a JSON round trip of floats is exact
  assert CONTRACT_KEYS <= set(results)
  assert set(results["timing"]) >= {"train_seconds", "seconds_per_epoch",
                                    "examples_per_second"}
  assert os.path.exists(tmp_path / method / "per_user.npz")
  return results


def test_ml100k_loo_sampled_itempop_matches_the_papers_toppop(tmp_path):
  test = _run(tmp_path, "itempop")["metrics"]["test"]
  # GuidedRec paper, TopPopular on ML-100K with 1 + 99 candidates: HR@10 0.406, NDCG@10 0.219.
  assert 0.39 <= test["hr@10"] <= 0.43
  assert 0.20 <= test["ndcg@10"] <= 0.24


def test_ml100k_loo_sampled_ease(tmp_path):
  results = _run(tmp_path, "ease")
  assert results["metrics"]["test"]["hr@10"] >= 0.62
  assert results["metrics"]["test"]["ndcg@10"] >= 0.35
  assert len(results["selection"]) == len(EASE_L2_GRID)
  assert results["config"]["method_config"]["l2"] in EASE_L2_GRID


@pytest.mark.parametrize("method", ["itempop", "ease"])
@pytest.mark.parametrize("protocol,keys", [
    ("strong", {"recall@20", "recall@50", "ndcg@100"}),
    ("loo_full", {"hr@50", "hr@100", "ndcg@50", "ndcg@100"}),
])
def test_ml100k_other_protocols(tmp_path, method, protocol, keys):
  results = _run(tmp_path, method, protocol=protocol)
  for part in ("valid", "test"):
    assert keys <= set(results["metrics"][part])
    assert all(0.0 <= results["metrics"][part][k] <= 1.0 for k in keys)


@pytest.mark.skipif(not os.path.isdir(ML1M_VAECF), reason="shared/data/ml-1m-vaecf not present")
def test_ml1m_vaecf_ease_and_itempop(tmp_path):
  ease = _run(tmp_path, "ease", protocol="strong", dataset=ML1M_VAECF,
              method_config={"l2_grid": [200.0, 500.0, 1000.0]})["metrics"]["test"]
  assert ease["ndcg@100"] >= 0.42
  assert ease["recall@20"] >= 0.35
  assert ease["recall@50"] >= 0.47
  pop = _run(tmp_path, "itempop", protocol="strong", dataset=ML1M_VAECF)["metrics"]["test"]
  assert 0.19 <= pop["ndcg@100"] <= 0.25


def _binary(tmp_path, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(
      [sys.executable, "-m", "tfrankcf.binaries.train_baseline",
       f"--output_dir={tmp_path / 'out'}", f"--data_dir={tmp_path / 'cache'}", *args],
      capture_output=True, text=True, env=env, timeout=300)


def test_malformed_file_one_line_error_and_no_results(tmp_path):
  path = tmp_path / "ratings.csv"
  path.write_text("1,10,5,100\n1,11,4,101\n2,10,x,102\n2,12,3,103\n")
  result = _binary(tmp_path, "--method=itempop", f"--dataset={path}")
  assert result.returncode == 2
  error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(error_lines) == 1
  assert "ratings.csv:3" in error_lines[0]
  assert not os.path.exists(tmp_path / "out" / "results.json")


@pytest.mark.parametrize("dataset,expected", [
    ("no_such_dataset", "no_such_dataset"),
    ("/nonexistent/file.csv", "/nonexistent/file.csv"),
])
def test_unknown_dataset_or_missing_file(tmp_path, dataset, expected):
  result = _binary(tmp_path, "--method=ease", f"--dataset={dataset}")
  assert result.returncode == 2
  assert expected in result.stderr.strip().splitlines()[-1]
  assert not os.path.exists(tmp_path / "out" / "results.json")


def test_binary_writes_results_and_prints_summary(tmp_path):
  result = _binary(tmp_path, "--method=itempop", "--protocol=loo_full")
  assert result.returncode == 0, result.stderr
  assert "hr@100" in result.stdout and "results:" in result.stdout
  with open(tmp_path / "out" / "results.json") as f:
    assert json.load(f)["protocol"] == "loo_full"


def test_vae_with_a_tf_ranking_loss_writes_results(tmp_path):
  result = _binary(tmp_path, "--method=vae", "--loss=listmle", "--protocol=strong",
                   "--epochs=1", "--list_size=20")
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / "out" / "results.json") as f:
    results = json.load(f)
  assert results["method"] == "vae_listmle"
  settings = results["config"]["method_config"]
  assert (settings["loss"], settings["candidates"], settings["list_size"]) == (
      "listmle", "sampled", 20)
  assert 0.0 <= results["metrics"]["test"]["ndcg@100"] <= 1.0


@pytest.mark.parametrize("args,expected", [
    (["--method=vae", "--loss=logloss"], "--loss=logloss is not an autoencoder term"),
    (["--method=dae", "--loss=listmle", "--candidates=all"],
     "candidates=all supports only approx_ndcg, not 'listmle'"),
    (["--method=vae", "--candidates=all"], "not 'multinomial'"),
    (["--backbone=graphrec", "--loss=multinomial"], "a --backbone trains on sampled lists"),
])
def test_bad_loss_combinations_are_one_line_errors(tmp_path, args, expected):
  result = _binary(tmp_path, "--protocol=strong", *args)
  assert result.returncode == 2
  error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(error_lines) == 1 and expected in error_lines[0]
  assert not os.path.exists(tmp_path / "out" / "results.json")
