"""run_trainable: the method-independent run around the fit loop."""

import numpy as np
import pytest

from tfrankcf.errors import InputError
from tfrankcf.methods.autoencoder import build_autoencoder
from tfrankcf.methods.bpr import build_bpr
from tfrankcf.methods.supervised import build_supervised
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import load_run_split, run_closed_form, run_trainable


def test_steps_per_execution_changes_speed_not_results(tmp_path):
  metrics = []
  for steps in (1, 7):
    config = RunConfig(method="bpr", dataset="ml100k", protocol="loo_full", epochs=2,
                       batch_size=512, output_dir=str(tmp_path / str(steps)),
                       data_dir=str(tmp_path / "cache"), steps_per_execution=steps,
                       method_config={"embedding_dim": 8, "learning_rate": 0.05})
    results = run_trainable(config, build_bpr)
    metrics.append(results["metrics"])
  for part in ("valid", "test"):
    assert metrics[0][part] == pytest.approx(metrics[1][part], rel=1e-6, abs=1e-12)


def test_split_seed_fixes_the_split_while_seed_varies(tmp_path):
  def split(seed, split_seed=None):
    return load_run_split(RunConfig(method="ease", dataset="ml100k", protocol="loo_sampled",
                                    seed=seed, split_seed=split_seed,
                                    data_dir=str(tmp_path)))

  fixed = [split(seed, split_seed=0) for seed in (0, 3)]
  np.testing.assert_array_equal(fixed[0].test.candidates, fixed[1].test.candidates)
  assert (fixed[0].train != fixed[1].train).nnz == 0
  default = split(3)  # without --split_seed the split follows --seed
  assert not np.array_equal(default.test.candidates, fixed[0].test.candidates)


def test_jit_compile_with_graph_features_is_a_clear_error(tmp_path):
  config = RunConfig(method="graphrec_logloss", dataset="ml100k", protocol="loo_sampled",
                     epochs=1, output_dir=str(tmp_path / "run"), data_dir=str(tmp_path),
                     jit_compile=True, method_config={"graph_features": True})
  with pytest.raises(InputError, match="--jit_compile: .*GraphRec's graph features"):
    run_trainable(config, build_supervised)
  assert not (tmp_path / "run" / "results.json").exists()


def test_jit_compile_with_a_sampled_list_term_is_a_clear_error(tmp_path):
  config = RunConfig(method="vae", dataset="ml100k", protocol="strong", epochs=1,
                     output_dir=str(tmp_path / "run"), data_dir=str(tmp_path),
                     jit_compile=True, method_config={"loss": "listmle"})
  with pytest.raises(InputError, match="--jit_compile: .*sampled candidate lists"):
    run_trainable(config, build_autoencoder)
  assert not (tmp_path / "run" / "results.json").exists()


def test_ease_sweep_selects_on_validation_in_either_precision(tmp_path):
  """run_closed_form sweeps EASE's L2 with one Gram (baselines.ease.select_l2); float64 by flag."""
  results = {}
  for dtype in ("float32", "float64"):
    config = RunConfig(method="ease", data_dir=str(tmp_path / "cache"),
                       output_dir=str(tmp_path / dtype),
                       method_config={"l2_grid": [50.0, 200.0, 5000.0], "dtype": dtype})
    results[dtype] = run_closed_form(config)
  for dtype, run in results.items():
    assert [entry["l2"] for entry in run["selection"]] == [50.0, 200.0, 5000.0]
    values = [entry["valid"]["ndcg@10"] for entry in run["selection"]]
    assert run["config"]["method_config"]["l2"] == [50.0, 200.0, 5000.0][int(np.argmax(values))]
    assert run["metrics"]["valid"]["ndcg@10"] == max(values)  # the selected model's own value
  for part in ("valid", "test"):
    for key, value in results["float32"]["metrics"][part].items():
      assert value == pytest.approx(results["float64"]["metrics"][part][key], rel=0, abs=2e-3)
