"""What a run prints: the result table, a staged method's epoch lines, a long epoch's progress."""

import dataclasses
import importlib.util
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.apr import APR, APRConfig
from tfrankcf.methods.autoencoder import actor_objective
from tfrankcf.methods.cfsfl import CFSFL, CFSFLConfig, recommender_for, recommender_objective
from tfrankcf.methods.ract import RaCT, RaCTConfig
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.training import run
from tfrankcf.training.config import RunConfig
from tfrankcf.training.fit.progress import EpochProgress
from tfrankcf.training.loop import train_and_evaluate


def _test_loop_module():
  """tests/training/test_loop.py's tiny model and split (tests are not a package)."""
  path = Path(__file__).with_name("test_loop.py")
  spec = importlib.util.spec_from_file_location("_test_loop_helpers", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


LOOP = _test_loop_module()


# -- the result table ------------------------------------------------------------------------


def test_table_names_protocol_selected_l2_and_users(tmp_path, capsys):
  config = RunConfig(method="ease", dataset="ml100k", protocol="strong",
                     output_dir=str(tmp_path / "run"), data_dir=str(tmp_path),
                     method_config={"l2_grid": [200.0, 500.0]})
  results = run.run_closed_form(config)
  lines = capsys.readouterr().out.splitlines()
  split = run.load_run_split(config)
  users = {part: int((np.diff(getattr(split, part).targets.indptr) > 0).sum())
           for part in ("valid", "test")}
  assert lines[0] == (f"ease on ml100k, protocol strong: L2 {results['config']['method_config']['l2']:g}"
                      " selected on valid ndcg@100 (of 2 values)")
  assert lines[1].split()[:2] == ["users", "recall@20"]
  assert lines[2].split()[:2] == ["valid", str(users["valid"])]
  assert lines[3].split()[:2] == ["test", str(users["test"])]
  assert float(lines[3].split()[2]) == pytest.approx(results["metrics"]["test"]["recall@20"],
                                                     abs=1e-4)
  assert results["users_averaged"] == users


def test_table_of_a_trained_run_names_the_selected_epoch():
  history = [{"epoch": 1, "valid": {}}, {"epoch": 2, "valid": {}}, {"epoch": 3, "valid": {}}]
  config = RunConfig(method="vae", protocol="strong")
  assert run.selection_note(config, {"history": history, "best_epoch": 2}) == (
      "epoch 2 of 3 selected on valid ndcg@100")
  assert run.selection_note(config, {"history": history, "best_epoch": 2,
                                     "stopped_early_at": 3}) == (
      "epoch 2 of 3 selected on valid ndcg@100 (stopped early after epoch 3)")
  staged = [{"epoch": 1, "stage": "actor pre-training"}, {"epoch": 2, "stage": "actor-critic"}]
  assert run.selection_note(config, {"history": staged, "best_epoch": 2}) == (
      "epoch 2 of 2 (actor-critic) selected on valid ndcg@100")
  loo = dataclasses.replace(config, protocol="loo_sampled")
  assert run.selection_note(loo, {"history": history, "best_epoch": 3}).endswith("ndcg@10")
  assert run.selection_note(RunConfig(method="itempop"), {}) == "nothing to select"
  table = run.summary_table("vae on ml100k, protocol strong: epoch 2 of 3 ...",
                            {"valid": {"ndcg@100": 0.5}, "test": {"ndcg@100": 0.25}},
                            ["ndcg@100"], {"valid": 94, "test": 93})
  assert table.splitlines() == ["vae on ml100k, protocol strong: epoch 2 of 3 ...",
                                "           users  ndcg@100",
                                "valid         94    0.5000",
                                "test          93    0.2500"]


# -- a staged method's epoch lines -----------------------------------------------------------


def _epoch_lines(text):
  """{epoch: (stage, {tracker: value})} of the loop's epoch lines in `text`."""
  found = {}
  for match in re.finditer(r"epoch (\d+)/\d+(?: \(([^)]*)\))?  (.*?)(?:  valid |  \d)", text):
    trackers = dict(re.findall(r"(\S+) (-?\d+\.\d{4})", match.group(3)))
    found[int(match.group(1))] = (match.group(2), set(trackers))
  return found


def _assert_idle_trackers_read_zero(logs, trackers, stage):
  """The trackers a stage's line leaves out were never updated; the ones it shows were."""
  idle = {key: value for key, value in logs.items() if key not in trackers}
  assert all(value == 0.0 for value in idle.values()), (stage, idle)
  assert set(trackers) <= set(logs) and any(logs[key] != 0.0 for key in trackers), stage


def test_ract_epoch_lines_name_the_stage_and_only_its_trackers(tmp_path, caplog):
  split = LOOP._split()
  tf.keras.utils.set_random_seed(0)
  model = RaCT(build_actor("vae", split.num_items), actor_objective("vae", anneal_steps=100),
               RaCTConfig(actor_epochs=1, critic_epochs=1, ac_epochs=1), seed=3)
  model.compile(optimizer=model.actor_optimizer)
  every_log, fit = [], model.fit

  def recorded_fit(*args, **kwargs):  # what Keras reports, every tracker included
    history = fit(*args, **kwargs)
    every_log.append({key: values[-1] for key, values in history.history.items()})
    return history

  model.fit = recorded_fit
  rows = UserRows(split.train, batch_size=10, seed=0)
  with caplog.at_level(logging.INFO):
    outcome = train_and_evaluate(model, rows, split, REPORTING["loo_sampled"], str(tmp_path),
                                 epochs=3, milestones={"pretrained": 1}, restore_best_at=1)
  lines = _epoch_lines(caplog.text)
  actor = {"loss", "kl", "beta"}
  critic = {"critic_loss", "train_ndcg@100", "critic_output"}
  stages = ["actor pre-training", "critic pre-training", "actor-critic"]
  assert lines == {1: (stages[0], actor), 2: (stages[1], critic), 3: (stages[2], {"loss"} | critic)}
  for epoch, logs in enumerate(every_log):
    _assert_idle_trackers_read_zero(logs, lines[epoch + 1][1], stages[epoch])
  assert [entry["stage"] for entry in outcome["history"]] == stages
  assert set(outcome["history"][1]) == {"epoch", "train_seconds", "stage", "valid"} | critic
  warp = RaCT(build_actor("vae", 5), actor_objective("vae"),
              RaCTConfig(actor_epochs=1, critic_epochs=1, stage3="warp"))
  assert warp.training_stage(2) == ("warp fine-tuning", ("loss",))


def test_cfsfl_stages_leave_out_exactly_the_idle_trackers():
  rng = np.random.default_rng(0)
  rows = UserRows(sp.csr_matrix((rng.random((10, 12)) < 0.4).astype(np.float32)),
                  batch_size=10, seed=0)
  tf.keras.utils.set_random_seed(0)
  config = CFSFLConfig(recommender_epochs=1, reward_epochs=1, joint_epochs=1, unroll_steps=1,
                       embedding_dim=8, reward_dims=(16, 16, 16), feedback_dims=(16, 16, 16),
                       actor="vae", anneal_steps=100)
  model = CFSFL(recommender_for(12, config), recommender_objective(config, batch_size=10), config,
                seed=3)
  model.compile(optimizer=model.actor_optimizer)
  names = ["recommender pre-training", "reward pre-training", "joint training"]
  for epoch, name in enumerate(names):
    model.epoch.assign(epoch)
    dataset = rows(epoch)
    model.prepare_epoch(epoch, dataset)
    logs = {k: float(v[-1]) for k, v in model.fit(dataset, verbose=0).history.items()}
    stage, trackers = model.training_stage(epoch)
    assert stage == name
    _assert_idle_trackers_read_zero(logs, trackers, stage)


def test_apr_pretraining_stage_leaves_out_the_adversarial_loss():
  model = APR(10, 20, APRConfig(pretrain_epochs=2))
  assert model.training_stage(1) == ("BPR pre-training", ("loss", "accuracy"))
  assert model.training_stage(2) == ("adversarial training", ("loss", "accuracy", "adv_loss"))


def test_a_single_stage_models_line_is_unchanged(tmp_path, caplog):
  split = LOOP._split()
  with caplog.at_level(logging.INFO):
    train_and_evaluate(LOOP._model(split), LOOP._dataset_fn(split), split,
                       REPORTING["loo_sampled"], str(tmp_path), epochs=1)
  assert re.search(r"epoch 1/1  loss \d\.\d{4}  valid ndcg@10 ", caplog.text)


# -- a long epoch's progress -----------------------------------------------------------------


class _Clock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_progress_prints_a_line_every_interval_with_steps_and_examples_per_second():
  clock, lines = _Clock(), []
  progress = EpochProgress("epoch 2/5", steps=100, examples_per_epoch=5000, interval=10.0,
                           clock=clock, log=lines.append)
  progress.on_epoch_begin(1)
  for batch in range(100):  # 0.25 s per step
    clock.now += 0.25
    progress.on_train_batch_end(batch)
  assert lines == [
      "epoch 2/5: step 40/100 (40%), 200 examples/s, 10 s, eta 15 s",
      "epoch 2/5: step 80/100 (80%), 200 examples/s, 20 s, eta 5 s",
  ]


def test_progress_with_several_steps_per_call_and_an_unknown_total():
  clock, lines = _Clock(), []
  progress = EpochProgress("epoch 1/1", interval=5.0, clock=clock, log=lines.append)
  progress.on_epoch_begin(0)
  for end_step in range(3, 30, 4):  # steps_per_execution=4: Keras reports the last step
    clock.now += 2.0
    progress.on_train_batch_end(end_step)
  assert lines == ["epoch 1/1: step 12, 2.0 steps/s, 6 s",
                   "epoch 1/1: step 24, 2.0 steps/s, 12 s"]


def test_a_short_epoch_prints_no_progress():
  clock, lines = _Clock(), []
  progress = EpochProgress("epoch 1/1", steps=50, interval=10.0, clock=clock, log=lines.append)
  progress.on_epoch_begin(0)
  for batch in range(50):
    clock.now += 0.1
    progress.on_train_batch_end(batch)
  assert lines == []


def test_the_loop_reports_progress_of_its_epochs(tmp_path, caplog):
  split = LOOP._split()
  with caplog.at_level(logging.INFO):
    train_and_evaluate(LOOP._model(split), LOOP._dataset_fn(split, batch_size=64), split,
                       REPORTING["loo_sampled"], str(tmp_path), epochs=2,
                       examples_per_epoch=2 * split.train.nnz, progress_interval=0.0)
  steps = -(-2 * split.train.nnz // 64)
  for epoch in (1, 2):
    assert f"epoch {epoch}/2: step 1/{steps} (" in caplog.text
    assert re.search(rf"epoch {epoch}/2: step {steps}/{steps} \(100%\), \d+ examples/s",
                     caplog.text)
