"""Exporting from a run's output directory: the same model as the export at the end of training."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf import api
from tfrankcf.methods.autoencoder import AutoencoderConfig, build_autoencoder
from tfrankcf.serving.from_run import export_run, load_run_config
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import CONFIG_FILE, load_run_split, run_trainable


def _outputs(directory, history, mask):
  serve = tf.saved_model.load(directory).signatures["serving_default"]
  out = serve(history=tf.constant(history), history_mask=tf.constant(mask))
  return out["item_ids"].numpy(), out["scores"].numpy()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A one-epoch Mult-VAE run on ml100k (strong) that exported itself with K = 15."""
  tmp_path = tmp_path_factory.mktemp("run")
  config = RunConfig(method="vae", protocol="strong", epochs=1, seed=1,
                     output_dir=str(tmp_path / "run"), data_dir=str(tmp_path / "cache"),
                     export_dir=str(tmp_path / "at_end"), export_top_k=15,
                     method_config=AutoencoderConfig(actor="vae"))
  api.train(config)  # trains, then exports (--export_dir)
  split = load_run_split(config)
  item_ids = np.asarray(split.item_ids).astype(str)
  inputs = split.valid.inputs[:4]
  width = int(np.diff(inputs.indptr).max())
  history = [list(item_ids[inputs[r].indices]) + [""] * (width - inputs[r].nnz)
             for r in range(4)]
  mask = [[True] * inputs[r].nnz + [False] * (width - inputs[r].nnz) for r in range(4)]
  return tmp_path, history, mask


def test_export_run_equals_the_export_at_the_end_of_training(trained):
  tmp_path, history, mask = trained
  expected_ids, expected_scores = _outputs(str(tmp_path / "at_end"), history, mask)
  assert expected_ids.shape == (4, 15)  # the run's export_top_k
  export_run(str(tmp_path / "run"), str(tmp_path / "from_best"))
  ids, scores = _outputs(str(tmp_path / "from_best"), history, mask)
  np.testing.assert_array_equal(ids, expected_ids)
  np.testing.assert_allclose(scores, expected_scores, rtol=1e-6, atol=1e-7)


def test_an_interrupted_run_exports_from_config_json_and_the_latest_checkpoint(trained):
  tmp_path, history, mask = trained
  run_dir = tmp_path / "run"
  with open(run_dir / CONFIG_FILE) as f:
    assert json.load(f)["export_top_k"] == 15
  os.rename(run_dir / "results.json", run_dir / "results.json.hidden")
  try:
    assert load_run_config(str(run_dir)).method == "vae"
    export_run(str(run_dir), str(tmp_path / "from_latest"), top_k=5, checkpoint="latest")
  finally:
    os.rename(run_dir / "results.json.hidden", run_dir / "results.json")
  ids, scores = _outputs(str(tmp_path / "from_latest"), history, mask)
  expected_ids, expected_scores = _outputs(str(tmp_path / "at_end"), history, mask)
  np.testing.assert_array_equal(ids, expected_ids[:, :5])  # one epoch: best = latest
  np.testing.assert_allclose(scores, expected_scores[:, :5], rtol=1e-6, atol=1e-7)


def test_a_directory_without_a_run_is_a_clear_error(tmp_path):
  with pytest.raises(InputError, match="not the output directory of a run"):
    export_run(str(tmp_path), str(tmp_path / "out"))


def test_missing_best_checkpoint_suggests_latest(trained, tmp_path):
  run_dir = tmp_path / "copy"
  run_dir.mkdir()
  with open(trained[0] / "run" / CONFIG_FILE) as f:
    (run_dir / CONFIG_FILE).write_text(f.read())
  with pytest.raises(InputError, match="use --checkpoint=latest"):
    export_run(str(run_dir), str(tmp_path / "out"))
  assert not (tmp_path / "out").exists()
