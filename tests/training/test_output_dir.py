"""--output_dir: checked writable before any work; another run's refused; --overwrite; resume.

In-process runs on ml100k: one real Mult-VAE run (one epoch) is made once and copied
for every test that reuses its directory.
"""

import dataclasses
import json
import os
import shutil

import pytest

from tfrankcf.errors import InputError
from tfrankcf.methods.autoencoder import AutoencoderConfig, build_autoencoder
from tfrankcf.methods.closed_form import EASEConfig, ItemPopConfig
from tfrankcf.training import output_dir as run_dir
from tfrankcf.training import run
from tfrankcf.training.config import RunConfig

REUSE = "use another --output_dir or --overwrite"


def _vae(directory, data_dir, **changes):
  config = RunConfig(method="vae", dataset="ml100k", protocol="strong", epochs=1,
                     batch_size=200, output_dir=str(directory), data_dir=str(data_dir),
                     eval_batch_size=500,
                     method_config=AutoencoderConfig(actor="vae", beta_max=0.2))
  return dataclasses.replace(config, **changes)


def _ease(directory, data_dir, **changes):
  config = RunConfig(method="ease", dataset="ml100k", protocol="strong",
                     output_dir=str(directory), data_dir=str(data_dir),
                     method_config=EASEConfig(l2_grid=(200.0, 500.0)))
  return dataclasses.replace(config, **changes)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
  """(directory of a finished one-epoch Mult-VAE run, its data_dir, its results)."""
  root = tmp_path_factory.mktemp("vae_run")
  results = run.run_trainable(_vae(root / "run", root / "cache"), build_autoencoder)
  return root / "run", root / "cache", results


@pytest.fixture
def vae_dir(vae_run, tmp_path):
  """A copy of the VAE run's directory, which a test may change."""
  directory = tmp_path / "vae"
  shutil.copytree(vae_run[0], directory)
  return directory


@pytest.fixture
def no_work(monkeypatch):
  """Fails the test if the run loads its split: every check must come before any work."""
  def load_run_split(config):
    raise AssertionError("the split was loaded before the output directory was checked")
  monkeypatch.setattr(run, "load_run_split", load_run_split)


def _snapshot(directory):
  return {path: os.path.getmtime(os.path.join(root, path))
          for root, _, files in os.walk(directory) for path in files}


# -- an unwritable --output_dir: one line before any work ----------------------------------


@pytest.mark.parametrize("kind", ["ease", "vae"])
def test_a_parent_that_is_a_file_is_refused_before_any_work(tmp_path, no_work, kind):
  (tmp_path / "afile").write_text("")
  target = tmp_path / "afile" / "run"
  with pytest.raises(InputError) as raised:
    if kind == "ease":
      run.run_closed_form(_ease(target, tmp_path))
    else:
      run.run_trainable(_vae(target, tmp_path), build_autoencoder)
  assert str(raised.value) == (f"{target}: --output_dir cannot be created: "
                               f"{tmp_path / 'afile'} is a file, not a directory")


def test_an_output_dir_that_is_a_file_is_refused(tmp_path, no_work):
  (tmp_path / "afile").write_text("")
  with pytest.raises(InputError, match="afile: --output_dir is a file, not a directory$"):
    run.run_closed_form(_ease(tmp_path / "afile", tmp_path))


def test_a_read_only_file_system_is_refused(tmp_path, no_work, monkeypatch):
  # Tests run as root, where only a read-only mount stops a write: its flag is faked.
  real = os.statvfs

  class ReadOnly:
    def __init__(self, path):
      self.f_flag = real(path).f_flag | os.ST_RDONLY

  monkeypatch.setattr(os, "statvfs", ReadOnly)
  with pytest.raises(InputError) as raised:
    run.run_trainable(_vae(tmp_path / "a" / "b", tmp_path), build_autoencoder)
  assert str(raised.value) == (f"{tmp_path / 'a' / 'b'}: --output_dir is not writable: "
                               f"{tmp_path} is on a read-only file system")
  assert os.listdir(tmp_path) == []


def test_no_permission_is_refused(tmp_path, no_work, monkeypatch):
  monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # chmod does not stop root
  with pytest.raises(InputError, match=f"not writable: no permission to write in {tmp_path}$"):
    run.run_closed_form(_ease(tmp_path / "run", tmp_path))


def test_a_directory_where_files_cannot_be_created_is_refused(tmp_path, no_work):
  # /proc accepts access(W_OK) from root but no new files: only creating one tells.
  with pytest.raises(InputError) as raised:
    run.run_closed_form(_ease("/proc/tfrankcf_run", tmp_path))
  assert str(raised.value).startswith(
      "/proc/tfrankcf_run: --output_dir is not writable: cannot create files in /proc (")


def test_an_unwritable_export_dir_is_refused_before_any_work(tmp_path, no_work):
  (tmp_path / "afile").write_text("")
  with pytest.raises(InputError, match="--export_dir cannot be created: .*afile is a file"):
    run.run_closed_form(_ease(tmp_path / "run", tmp_path,
                           export_dir=str(tmp_path / "afile" / "model")))
  assert not (tmp_path / "run").exists()


# -- a reused --output_dir -----------------------------------------------------------------


def test_ease_refuses_a_vae_runs_directory(vae_dir, tmp_path, no_work):
  before = (vae_dir / "results.json").read_bytes()
  files = _snapshot(vae_dir)
  with pytest.raises(InputError) as raised:
    run.run_closed_form(_ease(vae_dir, tmp_path))
  assert str(raised.value) == f"{vae_dir}: holds a run of method 'vae' (this is 'ease'); {REUSE}"
  assert (vae_dir / "results.json").read_bytes() == before
  assert _snapshot(vae_dir) == files


def test_dae_refuses_a_vae_runs_directory_instead_of_a_restore_traceback(vae_dir, tmp_path,
                                                                          no_work):
  config = _vae(vae_dir, tmp_path, method="dae", epochs=2,
                method_config=AutoencoderConfig(actor="dae", dae_hidden=200))
  with pytest.raises(InputError) as raised:
    run.run_trainable(config, build_autoencoder)
  assert str(raised.value) == f"{vae_dir}: holds a run of method 'vae' (this is 'dae'); {REUSE}"


@pytest.mark.parametrize("changes, difference", [
    ({"seed": 1}, "seed 0 (this is 1), split seed 0 (this is 1)"),
    ({"split_seed": 3}, "split seed 0 (this is 3)"),
    ({"protocol": "loo_full"}, "protocol 'strong' (this is 'loo_full')"),
    ({"dataset": "ml1m"}, "dataset 'ml100k' (this is 'ml1m')"),
    ({"batch_size": 100}, "batch_size 200 (this is 100)"),
    ({"method_config": AutoencoderConfig(actor="vae", beta_max=0.3)},
     "beta_max 0.2 (this is 0.3)"),
    ({"method_config": AutoencoderConfig(actor="vae", beta_max=0.2, anneal_epochs=5)},
     "anneal_epochs 0 (this is 5)"),
])
def test_a_run_with_another_setting_is_refused_naming_it(vae_dir, tmp_path, no_work, changes,
                                                         difference):
  with pytest.raises(InputError) as raised:
    run.run_trainable(_vae(vae_dir, tmp_path, **changes), build_autoencoder)
  assert str(raised.value) == f"{vae_dir}: holds a run of {difference}; {REUSE}"


def test_the_same_run_resumes_with_more_epochs_and_other_speed_settings(vae_run, vae_dir,
                                                                        caplog):
  _, data_dir, first = vae_run
  # Same split seed spelled out, more epochs, other batching of the evaluation: the same run.
  # A lower learning rate too: a diverged run resumes from its last good checkpoint with one.
  config = _vae(vae_dir, data_dir, epochs=2, split_seed=0, eval_batch_size=100,
                steps_per_execution=2, export_top_k=10,
                method_config=AutoencoderConfig(actor="vae", beta_max=0.2,
                                                actor_learning_rate=1e-4))
  with caplog.at_level("INFO"):
    results = run.run_trainable(config, build_autoencoder)
  assert "Resumed from" in caplog.text and "at epoch 1" in caplog.text
  assert [entry["epoch"] for entry in results["history"]] == [1, 2]
  assert results["history"][0]["loss"] == first["history"][0]["loss"]
  recorded = json.loads((vae_dir / "config.json").read_text())
  assert recorded["epochs"] == 2


def test_overwrite_starts_afresh_and_keeps_foreign_files(vae_dir, tmp_path):
  (vae_dir / "notes.txt").write_text("mine")
  (vae_dir / ".results.json.tmp123").write_text("{")  # left by a killed atomic write
  run.run_closed_form(_ease(vae_dir, tmp_path, overwrite=True))
  assert sorted(os.listdir(vae_dir)) == ["config.json", "notes.txt", "per_user.npz",
                                         "results.json"]
  assert (vae_dir / "notes.txt").read_text() == "mine"
  for name in ("config.json", "results.json"):
    assert json.loads((vae_dir / name).read_text())["method"] == "ease"


def test_overwrite_of_a_trainable_run_trains_from_epoch_one(vae_dir, vae_run, caplog):
  _, data_dir, first = vae_run
  with caplog.at_level("INFO"):
    results = run.run_trainable(_vae(vae_dir, data_dir, overwrite=True), build_autoencoder)
  assert "Resumed from" not in caplog.text
  assert results["history"][0]["loss"] == first["history"][0]["loss"]


def test_closed_form_runs_record_config_json_and_rerun_into_their_own_directory(tmp_path):
  config = _ease(tmp_path / "ease", tmp_path)
  first = run.run_closed_form(config)
  recorded = json.loads((tmp_path / "ease" / "config.json").read_text())
  assert recorded["method"] == "ease" and recorded["method_config"] == {
      "l2_grid": [200.0, 500.0], "dtype": "float32", "l2": None}
  # results.json records the selected l2 (a recorded field, not compared)
  again = run.run_closed_form(_ease(tmp_path / "ease", tmp_path))
  assert json.loads((tmp_path / "ease" / "results.json").read_text())[
      "config"]["method_config"]["l2"] in (200.0, 500.0)
  assert again["metrics"] == first["metrics"]
  with pytest.raises(InputError, match="holds a run of method 'ease' .this is 'itempop'."):
    run.run_closed_form(_ease(tmp_path / "ease", tmp_path, method="itempop",
                                 method_config=ItemPopConfig()))


def test_an_older_run_without_config_json_is_identified_by_results_json(vae_dir, tmp_path,
                                                                        no_work):
  os.remove(vae_dir / "config.json")
  with pytest.raises(InputError, match="holds a run of method 'vae' .this is 'ease'."):
    run.run_closed_form(_ease(vae_dir, tmp_path))


def test_run_files_without_a_config_are_refused(tmp_path, no_work):
  (tmp_path / "run" / "checkpoints").mkdir(parents=True)
  (tmp_path / "run" / "stdout.log").write_text("")  # a foreign file alone would be fine
  with pytest.raises(InputError) as raised:
    run.run_closed_form(_ease(tmp_path / "run", tmp_path))
  assert str(raised.value) == (f"{tmp_path / 'run'}: holds run files (checkpoints) but no "
                               f"config.json saying which run; {REUSE}")


def test_an_unreadable_config_is_one_line(tmp_path, no_work):
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "config.json").write_text("{not json")
  with pytest.raises(InputError, match=r"run/config.json: unreadable config.json \(.*\); use"):
    run.run_closed_form(_ease(tmp_path / "run", tmp_path))


def test_a_directory_with_foreign_files_only_is_free(tmp_path):
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "stdout.log").write_text("compare's log")
  run_dir.claim(_ease(tmp_path / "run", tmp_path), str(tmp_path / "run"))  # no error


def test_a_run_recorded_before_typed_settings_is_the_same_run(tmp_path):
  """An older config.json: `params` and the recorded name; the same run, so it resumes."""
  config = RunConfig(method="listmle", protocol="loo_sampled", output_dir=str(tmp_path),
                     method_config={"embedding_dim": 8})
  old = {key: value for key, value in config.to_dict().items() if key != "method_config"}
  old.update(method="graphrec_listmle", params={
      "backbone": "graphrec", "loss": "listmle", "embedding_dim": 8,
      "mlp_layers": [16, 16, 8, 8], "learning_rate": 1e-3})
  assert run_dir.differences(old, config) == []
  old["params"]["embedding_dim"] = 20
  assert run_dir.differences(old, config) == ["embedding_dim 20 (this is 8)"]
