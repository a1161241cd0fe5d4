"""Fault tolerance through the binaries: SIGKILL and resume, NaN stops, determinism.

The binary tests run real processes on ml100k: every run of the module starts
in the background at once (their TensorFlow start-ups overlap), and each test
waits for the runs it compares. RaCT's kill-and-resume (three more processes,
the slowest) runs only with TFRANKCF_SLOW_TESTS=1; its stages are covered at
the loop level by tests/training/test_loop.py's kill-after-every-write test.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf


# Method families, each a command line whose epochs are long enough (small batches) that a
# kill after the first checkpoint lands inside the second epoch.
FAMILIES = {
    "vae": ["train_baseline", "--method=vae", "--protocol=strong", "--epochs=3",
            "--batch_size=25"],
    "guidedrec": ["train_guidedrec", "--epochs=3", "--batches_per_epoch=100"],
}
SLOW = bool(os.environ.get("TFRANKCF_SLOW_TESTS"))
if SLOW:
  # stage 1 actor, stage 2 critic (killed: resumes through restore_best_at and the critic
  # statistics refit), stage 3 actor-critic; the "pretrained" milestone is compared.
  FAMILIES["ract"] = ["train_ract", "--dataset=ml100k", "--actor_epochs=1",
                      "--critic_epochs=1", "--ac_epochs=1", "--batch_size=50"]
DETERMINISM = ("vae", "guidedrec")
NAN_RUN = ["train_baseline", "--method=vae", "--protocol=strong", "--epochs=3",
           "--actor_learning_rate=0.3"]  # epoch 1 finite, epoch 2 NaN
TIMEOUT = 600


def _default_sigint():
  """In the child: SIGINT back to its default, so Python turns it into KeyboardInterrupt.

  A command started in the background by a non-interactive shell (CI, `cmd &`)
  inherits SIGINT ignored, and Python then installs no handler: a Ctrl-C test
  would see the signal swallowed.
  """
  signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Run:
  """One binary run in its own process; stdout and stderr go to a log file per start."""

  def __init__(self, root, name, command, seed=0):
    self.output_dir = str(root / name)
    binary, *args = command
    self.argv = [sys.executable, "-m", f"tfrankcf.binaries.{binary}", *args, f"--seed={seed}",
                 f"--output_dir={self.output_dir}", f"--data_dir={root / 'cache'}"]
    self.log = str(root / f"{name}.log")
    self.process = None
    self.starts = 0
    self.killed = None  # a background kill-and-restart

  def start(self):
    self.starts += 1
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with open(f"{self.log}.{self.starts}", "w") as log:
      self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      preexec_fn=_default_sigint)
    return self

  def wait(self) -> int:
    if self.killed is not None:
      self.killed.join(TIMEOUT)
      assert self.killed.error is None, self.killed.error
    return self.process.wait(timeout=TIMEOUT)

  def output(self) -> str:
    """The output of the latest start."""
    with open(f"{self.log}.{self.starts}") as f:
      return f.read()

  def results(self) -> dict:
    assert self.wait() == 0, self.output()[-3000:]
    with open(os.path.join(self.output_dir, "results.json")) as f:
      return json.load(f)

  def per_user(self) -> dict:
    with np.load(os.path.join(self.output_dir, "per_user.npz")) as arrays:
      return dict(arrays)


def _latest_checkpoint_number(output_dir) -> int:
  """The epoch of the latest complete checkpoint (0: none), from CheckpointManager's state."""
  try:
    with open(os.path.join(output_dir, "checkpoints", "checkpoint")) as f:
      first = f.readline()
  except FileNotFoundError:
    return 0
  return int(first.rsplit("ckpt-", 1)[1].strip().strip('"')) if "ckpt-" in first else 0


class _KillInsideSecondEpoch(threading.Thread):
  """SIGKILLs a run once epoch 1 is checkpointed, while epoch 2 trains; then restarts it."""

  def __init__(self, victim: _Run):
    super().__init__(daemon=True)
    self.victim = victim
    self.error = None  # reported by `_Run.wait`

  def run(self):
    try:
      self.kill_and_restart()
    except Exception as error:  # pylint: disable=broad-except
      self.error = error

  def kill_and_restart(self):
    run = self.victim
    deadline = time.monotonic() + TIMEOUT
    while _latest_checkpoint_number(run.output_dir) < 1:
      assert run.process.poll() is None, f"exited before its first checkpoint:\n{run.output()}"
      assert time.monotonic() < deadline
      time.sleep(0.02)
    time.sleep(0.3)  # past the epoch's last writes, well inside the next (>= 1 s) epoch
    assert run.process.poll() is None, "finished before the kill: make its epochs longer"
    run.process.send_signal(signal.SIGKILL)
    assert run.process.wait() == -signal.SIGKILL
    assert _latest_checkpoint_number(run.output_dir) == 1, "killed after epoch 2 ended"
    run.start()  # the identical command line


def _comparable(results: dict) -> dict:
  """results.json without what legitimately differs between runs (times, paths)."""
  kept = {k: v for k, v in results.items() if k not in ("timing", "environment")}
  kept["config"] = {k: v for k, v in results["config"].items() if k != "output_dir"}
  kept["history"] = [{k: v for k, v in entry.items() if k != "train_seconds"}
                     for entry in results["history"]]
  return kept


def _assert_same_run(first: _Run, second: _Run) -> None:
  a, b = _comparable(first.results()), _comparable(second.results())
  # exact: both runs on this machine with the same kernels; a resume must be bit-identical
  assert a["metrics"] == b["metrics"]
  assert a["best_epoch"] == b["best_epoch"]
  assert a["history"] == b["history"]
  assert a == b
  arrays_a, arrays_b = first.per_user(), second.per_user()
  assert arrays_a.keys() == arrays_b.keys()
  for key in arrays_a:
    np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Every binary run of the module, all started at once; killed at the end if still running."""
  root = tmp_path_factory.mktemp("fault_tolerance")
  started = {}
  for name, command in FAMILIES.items():
    started[name] = _Run(root, name, command)
    started[f"{name}_killed"] = _Run(root, f"{name}_killed", command)
  for name in DETERMINISM:
    started[f"{name}_again"] = _Run(root, f"{name}_again", FAMILIES[name])
    started[f"{name}_seed1"] = _Run(root, f"{name}_seed1", FAMILIES[name] + ["--epochs=1"],
                                    seed=1)
  started["nan"] = _Run(root, "nan", NAN_RUN)
  for name, run in started.items():
    run.start()
    if name.endswith("_killed"):
      run.killed = _KillInsideSecondEpoch(run)
      run.killed.start()
  yield started
  for run in started.values():
    if run.killed is not None:
      run.killed.join(TIMEOUT)
    if run.process.poll() is None:
      run.process.kill()
      run.process.wait()


@pytest.mark.parametrize("family", [
    "vae", "guidedrec",
    pytest.param("ract", marks=pytest.mark.skipif(not SLOW, reason="TFRANKCF_SLOW_TESTS=1"))])
def test_sigkill_mid_epoch_then_same_command_resumes_exactly(runs, family):
  killed = runs[f"{family}_killed"]
  _assert_same_run(runs[family], killed)
  assert killed.starts == 2
  assert "Resumed from" in killed.output() and "ckpt-1 at epoch 1" in killed.output()


@pytest.mark.parametrize("family", DETERMINISM)
def test_same_seed_same_results_other_seed_other_results(runs, family):
  _assert_same_run(runs[family], runs[f"{family}_again"])
  other = runs[f"{family}_seed1"].results()["history"][0]  # its one epoch
  reference = runs[family].results()["history"][0]
  assert other["loss"] != reference["loss"]
  assert other["valid"] != reference["valid"]


def test_nan_loss_exits_3_and_keeps_the_last_good_checkpoint(runs):
  run = runs["nan"]
  assert run.wait() == 3, run.output()[-3000:]
  errors = [line for line in run.output().splitlines() if line.startswith("error:")]
  checkpoints = os.path.join(run.output_dir, "checkpoints")
  assert errors == [f"error: training diverged: epoch 2: loss is nan, kl is nan; stopped, "
                    f"the last good checkpoint (epoch 1) is in {checkpoints}"]
  assert "Traceback" not in run.output()
  assert not os.path.exists(os.path.join(run.output_dir, "results.json"))
  assert _latest_checkpoint_number(run.output_dir) == 1
  with open(os.path.join(checkpoints, "history.json")) as f:
    assert [entry["epoch"] for entry in json.load(f)] == [1]
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(checkpoints))
  dtypes = reader.get_variable_to_dtype_map()
  values = {name: reader.get_tensor(name) for name in dtypes if dtypes[name].is_floating}
  assert any(name.startswith("model/actor") for name in values)
  assert all(np.all(np.isfinite(value)) for value in values.values())
  assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 1
