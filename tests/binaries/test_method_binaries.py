"""Every trained method's binary runs end to end on the embedded ml100k and honours the contract."""

import json
import os
import subprocess
import sys

import pytest

RUNS = {
    "train_guidedrec": ["--epochs=2", "--batches_per_epoch=20"],
    # --epochs of a staged binary is its method's own stage: --ac_epochs, --adv_epochs
    "train_ract": ["--actor_epochs=1", "--critic_epochs=1", "--epochs=1"],
    "train_apr": ["--pretrain_epochs=1", "--epochs=1", "--robustness_eps=0.5"],
    "train_baseline": ["--backbone=neumf", "--loss=neural_sort", "--epochs=1",
                       "--batches_per_epoch=20"],
}
DEFAULT_PROTOCOL = {"train_guidedrec": "loo_sampled", "train_ract": "strong",
                    "train_apr": "loo_full", "train_baseline": "loo_sampled"}


@pytest.mark.parametrize("binary", sorted(RUNS))
def test_binary_trains_and_writes_results(tmp_path, binary):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-m", f"tfrankcf.binaries.{binary}", f"--output_dir={tmp_path / 'out'}",
       f"--data_dir={tmp_path / 'cache'}", *RUNS[binary]],
      capture_output=True, text=True, env=env, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "epoch 1/" in result.stderr  # the per-epoch log line
  with open(tmp_path / "out" / "results.json") as f:
    results = json.load(f)
  assert results["protocol"] == DEFAULT_PROTOCOL[binary]
  assert results["history"] and "valid" in results["history"][0]
  assert results["timing"]["examples_per_second"] > 0
  for part in ("valid", "test"):
    assert all(0.0 <= v <= 1.0 for v in results["metrics"][part].values())
  assert os.listdir(tmp_path / "out" / "checkpoints")
  if binary in ("train_ract", "train_apr"):
    stages = {"train_ract": 3, "train_apr": 2}[binary]  # one epoch per stage
    assert results["config"]["epochs"] == stages == len(results["history"])
    own_stage = {"train_ract": "ac_epochs", "train_apr": "adv_epochs"}[binary]
    assert results["config"]["method_config"][own_stage] == 1
  if binary == "train_ract":
    final = results["diagnostics"]["final"]  # the trained critic of the last epoch
    assert -1 <= final["critic_pearson_ndcg@100"] <= 1
    assert "nll_pearson_ndcg@100" in results["history"][-1]["diagnostics"]
    assert results["history"][0].get("diagnostics") == {}  # stage 1: no critic yet
    pretrained = results["milestones"]["pretrained"]
    assert pretrained["epochs"] == 1
    assert "wilcoxon_pvalue" in pretrained["paired_test"]["ndcg@100"]
  if binary == "train_apr":
    assert set(results["robustness"]) >= {"clean", "adversarial", "random"}
    assert "ndcg@100" in results["milestones"]["pretrained"]["paired_test"]
