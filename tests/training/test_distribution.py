"""tf.distribute: 2 logical CPUs (MirroredStrategy) and 2 local workers (MultiWorkerMirrored)
train as one device does.

Every run is a process of its own (the CPU split and the collective ops must
be configured before TensorFlow starts), all started together by the module
fixture so that the cores overlap them. Exactness is checked on
deterministic models (distributed_worker.py); the binaries' metrics are
compared with a single-device run of the same command:

* GuidedRec draws no noise in its step: the metrics agree to `EXACT`, float
  summation order aside.
* Mult-VAE and RaCT draw dropout and latent noise per replica (each replica
  its own users' draws), so their runs differ as two noise seeds do: metrics
  within `NOISY` (2 epochs, ~94 validation users), and the first epoch's
  training loss, which a loss scaling bug would change by the replica
  count, within 1%.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from tfrankcf.errors import InputError
from tfrankcf.training import distribution

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")
EXACT = 0.005
NOISY = 0.05
RUNS = {  # binary, arguments, metrics tolerance
    "vae": ("train_baseline", ["--method=vae", "--protocol=strong", "--epochs=2"], NOISY),
    "ract": ("train_ract", ["--actor_epochs=1", "--critic_epochs=1", "--ac_epochs=1"], NOISY),
    "guidedrec": ("train_guidedrec", ["--epochs=2", "--batches_per_epoch=20"], EXACT),
}


def _env(**extra) -> dict:
  env = {k: v for k, v in os.environ.items()
         if k not in ("TF_CONFIG", distribution.LOGICAL_CPUS_ENV)}
  return {**env, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", **extra}


def _command(run: str, output_dir, data_dir, strategy: str) -> list:
  binary, arguments, _ = RUNS[run]
  return [sys.executable, "-m", f"tfrankcf.binaries.{binary}", f"--output_dir={output_dir}",
          f"--data_dir={data_dir}", f"--strategy={strategy}", *arguments]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


class _Jobs:
  """Processes started at once (the machine's cores overlap them), output in files."""

  def __init__(self, root):
    self.root = root
    self.started, self.outputs = {}, {}

  def start(self, name: str, commands: list, output_dir) -> None:
    """Starts job `name`: one process per (command, extra environment)."""
    processes = []
    for index, (command, env) in enumerate(commands):
      log = self.root / "logs" / f"{name.replace('/', '_')}_{index}"
      log.parent.mkdir(parents=True, exist_ok=True)
      with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
        processes.append((subprocess.Popen(command, env=_env(**env), stdout=stdout,
                                           stderr=stderr, text=True), log))
    self.started[name] = (processes, output_dir)

  def finish(self, name: str) -> tuple[list, object]:
    """([(stdout, stderr)] of job `name`'s processes, its output directory); all exit 0."""
    processes, output_dir = self.started[name]
    if name not in self.outputs:
      outputs = []
      for process, log in processes:
        process.wait(timeout=900)
        with open(f"{log}.out") as stdout, open(f"{log}.err") as stderr:
          outputs.append((stdout.read(), stderr.read()))
        assert process.returncode == 0, (name, outputs[-1][1][-3000:])
      self.outputs[name] = outputs
    return self.outputs[name], output_dir

  def stop(self) -> None:
    for processes, _ in self.started.values():
      for process, _ in processes:
        if process.poll() is None:
          process.kill()
          process.wait()


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
  """Every process of this module: "exact" (distributed_worker.py), "single/<run>"
  (default strategy), "mirrored/<run>" (2 logical CPUs) and "workers/<run>" (2 workers)."""
  root = tmp_path_factory.mktemp("distribution")
  data = root / "data"
  jobs = _Jobs(root)
  jobs.start("exact", [([sys.executable, WORKER], {})], None)
  for run in RUNS:
    jobs.start(f"single/{run}", [(_command(run, root / "single" / run, data, "default"), {})],
               root / "single" / run)
  for run in ("vae", "guidedrec"):
    jobs.start(f"mirrored/{run}",
               [(_command(run, root / "mirrored" / run, data, "mirrored"),
                 {distribution.LOGICAL_CPUS_ENV: "2"})], root / "mirrored" / run)
  for run in ("ract", "guidedrec"):
    cluster = {"worker": [f"localhost:{_free_port()}" for _ in range(2)]}
    jobs.start(f"workers/{run}",
               [(_command(run, root / "workers" / run, data, "multi_worker"),
                 {"TF_CONFIG": json.dumps({"cluster": cluster,
                                           "task": {"type": "worker", "index": index}})})
                for index in range(2)], root / "workers" / run)
  yield jobs
  jobs.stop()


def _results(output_dir) -> dict:
  with open(os.path.join(output_dir, "results.json")) as f:
    return json.load(f)


def _assert_same_run(launched, run: str, output_dir) -> None:
  _, single_dir = launched.finish(f"single/{run}")
  single, distributed = _results(single_dir), _results(output_dir)
  tolerance = RUNS[run][2]
  for part in ("valid", "test"):
    assert distributed["metrics"][part] == pytest.approx(single["metrics"][part], abs=tolerance)
  assert distributed["history"][0]["loss"] == pytest.approx(single["history"][0]["loss"],
                                                            rel=0.01, abs=1e-6)


def test_an_epoch_on_two_replicas_equals_one_device(launched):
  [(stdout, _)], _ = launched.finish("exact")
  report = json.loads(stdout.strip().splitlines()[-1])
  assert set(report) == {"mult_vae", "ract_actor_critic", "graphrec_softmax"}
  for case, measured in report.items():
    assert measured["replicas"] == 2, case
    assert measured["weight_update"] > 1e-3, case  # the epoch trained
    assert measured["weight_difference"] < 1e-5, (case, measured)
    assert measured["logs"] == pytest.approx(measured["single_logs"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("run", ["vae", "guidedrec"])
def test_mirrored_binary_matches_one_device(launched, run):
  [(_, stderr)], output_dir = launched.finish(f"mirrored/{run}")
  assert "2 replicas in sync" in stderr
  _assert_same_run(launched, run, output_dir)


@pytest.mark.parametrize("run", ["ract", "guidedrec"])
def test_two_workers_match_one_device_and_only_the_chief_writes_results(launched, run):
  outputs, output_dir = launched.finish(f"workers/{run}")
  assert "2 replicas in sync (chief)" in outputs[0][1]
  assert "2 replicas in sync (worker)" in outputs[1][1]
  assert "results.json" in os.listdir(output_dir)
  own = output_dir / "workertemp_worker_1"  # the other worker's checkpoints
  assert os.listdir(own / "checkpoints") and not (own / "results.json").exists()
  _assert_same_run(launched, run, output_dir)


def test_multi_worker_without_a_valid_tf_config_is_a_clear_error(monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(InputError, match="needs TF_CONFIG"):
    distribution.strategy_for("multi_worker")
  for bad, message in [("{not json", "not JSON"), ('{"cluster": {}}', "needs a"),
                       ('{"cluster": {"worker": ["localhost:1"]}, '
                        '"task": {"type": "worker", "index": 1}}', "is not in its cluster")]:
    monkeypatch.setenv("TF_CONFIG", bad)
    with pytest.raises(InputError, match=message):
      distribution.strategy_for("multi_worker")
  with pytest.raises(InputError, match="unknown strategy"):
    distribution.strategy_for("parameter_server")


def test_one_device_is_the_chief_and_keeps_its_dataset(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  strategy = distribution.strategy_for("default")
  dataset = tf.data.Dataset.range(5).batch(2)
  assert distribution.is_chief(strategy)
  assert distribution.worker_dir(strategy, str(tmp_path)) == str(tmp_path)
  assert distribution.distribute_dataset(strategy, dataset) == (dataset, None)
