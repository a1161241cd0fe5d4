"""run_trainable: the method-independent run around the fit loop."""

import pytest

from tfrankcf.methods.bpr import build_bpr
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import run_trainable


def test_steps_per_execution_changes_speed_not_results(tmp_path):
  metrics = []
  for steps in (1, 7):
    config = RunConfig(method="bpr", dataset="ml100k", protocol="loo_full", epochs=2,
                       batch_size=512, output_dir=str(tmp_path / str(steps)),
                       data_dir=str(tmp_path / "cache"), steps_per_execution=steps,
                       params={"embedding_dim": 8, "learning_rate": 0.05})
    results = run_trainable(config, build_bpr)
    metrics.append(results["metrics"])
  for part in ("valid", "test"):
    assert metrics[0][part] == pytest.approx(metrics[1][part], rel=1e-6)
