"""Ctrl-C: one line naming the epoch a rerun resumes after, exit 130, and the rerun resumes.

The loop's `Interrupted` is tested in-process; one real run of a binary gets SIGINT
once it has checkpointed an epoch (tests/training/test_fault_tolerance.py's helpers),
then the same command resumes it.
"""

import importlib.util
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tfrankcf.errors import Interrupted
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.training.fit.part import Part
from tfrankcf.training.loop import train_and_evaluate


def _helpers(name):
  """A sibling test module's helpers (tests are not a package)."""
  spec = importlib.util.spec_from_file_location(f"_{name}_helpers",
                                                Path(__file__).with_name(f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


LOOP = _helpers("test_loop")
FAULTS = _helpers("test_fault_tolerance")
COMMAND = ["train_baseline", "--method=vae", "--protocol=strong", "--epochs=3",
           "--batch_size=5"]  # ~150 steps an epoch: a signal after epoch 1 lands in epoch 2


class _CtrlCAfter(Part):
  """Ctrl-C once epoch `epoch_to_stop` (from 0) is checkpointed: a caller's callback."""

  def __init__(self, epoch_to_stop):
    self.epoch_to_stop = epoch_to_stop

  def on_epoch_end(self, run, epoch):
    if epoch.index == self.epoch_to_stop:
      raise KeyboardInterrupt


def test_ctrl_c_after_an_epoch_names_it_and_the_rerun_resumes(tmp_path):
  split = LOOP._split()
  with pytest.raises(Interrupted) as raised:
    train_and_evaluate(LOOP._model(split), LOOP._dataset_fn(split), split,
                       REPORTING["loo_sampled"], str(tmp_path), epochs=3,
                       callbacks=[_CtrlCAfter(1)])
  assert isinstance(raised.value, KeyboardInterrupt) and raised.value.epoch == 2
  assert str(raised.value) == "interrupted after epoch 2; rerun the same command to resume"
  resumed = train_and_evaluate(LOOP._model(split), LOOP._dataset_fn(split), split,
                               REPORTING["loo_sampled"], str(tmp_path), epochs=3)
  straight = train_and_evaluate(LOOP._model(split), LOOP._dataset_fn(split), split,
                                REPORTING["loo_sampled"], str(tmp_path / "straight"), epochs=3)
  assert LOOP._without_times(resumed) == LOOP._without_times(straight)


def test_ctrl_c_in_the_first_epoch_says_so(tmp_path):
  split = LOOP._split()

  def dataset_fn(epoch):
    raise KeyboardInterrupt

  with pytest.raises(Interrupted) as raised:
    train_and_evaluate(LOOP._model(split), dataset_fn, split, REPORTING["loo_sampled"],
                       output_dir=str(tmp_path), epochs=3)
  assert raised.value.epoch == 0
  assert str(raised.value) == "interrupted during epoch 1; rerun the same command to resume"


def test_sigint_of_a_binary_prints_one_line_and_the_same_command_resumes(tmp_path):
  run = FAULTS._Run(tmp_path, "vae", COMMAND).start()
  deadline = time.monotonic() + FAULTS.TIMEOUT
  while FAULTS._latest_checkpoint_number(run.output_dir) < 1:
    assert run.process.poll() is None, f"exited before its first checkpoint:\n{run.output()}"
    assert time.monotonic() < deadline
    time.sleep(0.02)
  time.sleep(0.3)
  assert run.process.poll() is None, "finished before the signal: make its epochs longer"
  run.process.send_signal(signal.SIGINT)
  assert run.process.wait(timeout=FAULTS.TIMEOUT) == 130, run.output()[-3000:]
  epoch = FAULTS._latest_checkpoint_number(run.output_dir)
  assert epoch >= 1
  output = run.output()
  assert "Traceback" not in output
  assert output.splitlines()[-1] == (
      f"interrupted after epoch {epoch}; rerun the same command to resume")
  assert not os.path.exists(os.path.join(run.output_dir, "results.json"))

  run.start()  # the same command line
  results = run.results()
  assert f"ckpt-{epoch} at epoch {epoch}" in run.output()
  assert [entry["epoch"] for entry in results["history"]] == [1, 2, 3]
  with open(os.path.join(run.output_dir, "checkpoints", "history.json")) as f:
    assert json.load(f) == results["history"]
