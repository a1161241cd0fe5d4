"""Every registered method trains one tiny run (or fits), exports, reloads and is comparable.

One variant per spec is trained in-process on ML-100K with tiny settings, exported as a
SavedModel and reloaded; every entry's `compare` command (its binary's flags) parses in
its binary, and every variant's config resolves (`test_registry`).
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfrankcf import api
from tfrankcf.comparison.commands import Settings, plan_cells
from tfrankcf.comparison.registry import get_methods
from tfrankcf.methods import registry
from tfrankcf.serving.from_run import export_run

ROOT = pathlib.Path(__file__).parent.parent.parent
# Tiny settings per spec: a step or two of each stage.
TINY = {
    "bpr": {"embedding_dim": 4, "robustness_eps": ()},
    "apr": {"embedding_dim": 4, "pretrain_epochs": 1, "adv_epochs": 1, "robustness_eps": ()},
    "autoencoder": {"dae_hidden": 16},
    "listwise": {"batches_per_epoch": 2, "embedding_dim": 4},
    "guidedrec": {"batches_per_epoch": 2, "embedding_dim": 4},
    "ract": {"actor_epochs": 1, "critic_epochs": 1, "ac_epochs": 1},
    "cfsfl": {"recommender_epochs": 1, "reward_epochs": 1, "joint_epochs": 1,
              "unroll_steps": 1, "embedding_dim": 4},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("spec", [spec.name for spec in registry.specs()])
def test_each_spec_trains_exports_and_reloads(spec, data_dir, tmp_path):
  entry = registry.get(registry.spec(spec).variants[0].name)
  protocol = "loo_sampled" if entry.spec.scores_by == "id" else "strong"
  trained = api.train(entry.name, protocol=protocol, epochs=1, data_dir=str(data_dir),
                      output_dir=str(tmp_path / "run"), eval_batch_size=2000,
                      method_config=api.method_config(entry.name, **TINY.get(spec, {})))
  assert trained.results["method"] == entry.name
  assert set(trained.evaluation.test) == set(trained.results["metrics"]["test"])
  path = api.export(trained, str(tmp_path / "export"), top_k=3)
  loaded = tf.saved_model.load(path)
  split = trained.split
  ids = np.asarray(split.item_ids).astype(str)
  inputs = {"history": tf.constant([[ids[0], ids[1]]]),
            "history_mask": tf.constant([[True, True]])}
  if entry.spec.scores_by == "id":
    inputs["user_id"] = tf.constant([0], tf.int64)
  out = loaded.signatures["serving_default"](**inputs)
  assert out["item_ids"].shape == (1, 3)
  # rebuilt from the run directory alone (its recorded config), as export_model does
  again = tf.saved_model.load(export_run(str(tmp_path / "run"), str(tmp_path / "again")))
  rebuilt = again.signatures["serving_default"](**inputs)
  np.testing.assert_array_equal(rebuilt["item_ids"].numpy()[:, :3], out["item_ids"].numpy())
  if entry.spec.closed_form:
    assert trained.evaluation.best_epoch is None
  else:
    assert (tmp_path / "run" / "best").is_dir()


PARSE = """
import json, sys
from absl import flags
{load}
for line in sys.stdin:
  binary, argv = json.loads(line)
  module = load(binary)
  argv = [binary] + argv
  if hasattr(module, "define"):
    module.define(argv)
  flags.FLAGS(argv)
  print(json.dumps([binary, flags.FLAGS.seed]))
"""


def test_every_entrys_compare_command_parses_in_its_binary(tmp_path):
  entries = registry.entries()
  lines = []
  for protocol in ("loo_sampled", "strong"):
    names = [e.name for e in entries if protocol in e.spec.protocols]
    settings = Settings(dataset="ml100k", protocol=protocol, output_dir=str(tmp_path),
                        epochs=2, extra_flags=("--batches_per_epoch=3",))
    for cell in plan_cells(get_methods(names, protocol), [4], settings):
      binary = cell.command[2].rsplit(".", 1)[-1]
      lines.append(json.dumps([binary, list(cell.command[3:])]))
  script = PARSE.replace("{load}", (ROOT / "tests" / "binaries" / "fresh_binary.py").read_text())
  result = subprocess.run([sys.executable, "-c", script], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-3000:]
  assert len(result.stdout.splitlines()) == len(lines) > len(entries)
