"""Tests of the cells' command lines: flagfile lookup, precedence, and that binaries parse them."""

import json
import os
import subprocess
import sys

import pytest

from tfrankcf.comparison.commands import (DEFAULT_CONFIGS_DIR, Settings, find_flagfile,
                                          parse_method_flags, plan_cells)
from tfrankcf.comparison.registry import METHODS, get_methods
from tfrankcf.errors import InputError

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@pytest.mark.parametrize("method,dataset,protocol,expected", [
    ("guidedrec", "ml100k", "loo_sampled", "guidedrec_ml100k.cfg"),
    ("guidedrec", "ml1m", "loo_sampled", "guidedrec_ml1m.cfg"),
    ("guidedrec", "ml100k", "loo_full", None),
    ("listmle", "ml100k", "loo_sampled", "graphrec-losses_ml100k.cfg"),
    ("ract", "ml100k", "strong", "ract_ml100k-strong.cfg"),
    ("ract", "ml100k", "loo_sampled", None),
    ("apr", "ml100k", "loo_full", "apr_ml100k.cfg"),
    ("vae_listmle", "../shared/data/ml-1m-vaecf", "strong", "vae-losses_ml1m-vaecf.cfg"),
    ("vae", "ml100k", "strong", None),
    ("ease", "ml100k", "loo_sampled", None),
])
def test_flagfile_matches_dataset_and_protocol(method, dataset, protocol, expected):
  found = find_flagfile(METHODS[method], dataset, protocol, DEFAULT_CONFIGS_DIR)
  assert (os.path.basename(found) if found else None) == expected


def test_flagfile_without_variant_is_preferred(tmp_path):
  for name in ("ract_ml100k-strong.cfg", "ract_ml100k.cfg"):
    (tmp_path / name).write_text("--dataset=ml100k\n--protocol=strong\n")
  found = find_flagfile(METHODS["ract"], "ml100k", "strong", str(tmp_path))
  assert os.path.basename(found) == "ract_ml100k.cfg"
  assert find_flagfile(METHODS["ract"], "ml100k", "strong", "") is None


def _settings(tmp_path, **kwargs):
  return Settings(dataset="ml100k", protocol="loo_sampled", output_dir=str(tmp_path),
                  split_seed=3, **kwargs)


def test_cells_and_precedence(tmp_path):
  settings = _settings(tmp_path, epochs=7, batch_size=50,
                       extra_flags=("--eval_every=2",),
                       method_flags=parse_method_flags(["listmle:--list_size=6"]))
  cells = plan_cells(get_methods(["ease", "listmle"], "loo_sampled"), [4, 5], settings)
  assert [(c.method.name, c.key, c.seed) for c in cells] == [
      ("ease", "fit", 4), ("listmle", "s4", 4), ("listmle", "s5", 5)]
  assert cells[1].output_dir == os.path.join(str(tmp_path), "runs", "listmle", "s4")
  ease, listmle = cells[0].command, cells[1].command
  assert ease[:3] == (sys.executable, "-m", "tfrankcf.binaries.train_baseline")
  assert not any(arg.startswith(("--epochs", "--batch_size")) for arg in ease)
  assert "--split_seed=3" in ease and "--seed=4" in ease
  # Weakest to strongest: registry default, flagfile, the paper's epochs, compare's --epochs.
  order = [listmle.index(arg) for arg in (
      "--epochs=200", f"--flagfile={cells[1].flagfile}", "--epochs=44", "--epochs=7",
      "--batch_size=50", "--eval_every=2", "--list_size=6")]
  assert order == sorted(order)
  assert f"--output_dir={cells[1].output_dir}" in listmle and "--seed=4" in listmle


def test_without_epochs_the_flagfile_and_paper_epochs_stand(tmp_path):
  cells = plan_cells(get_methods(["guidedrec", "logloss"], "loo_sampled"), [0],
                     _settings(tmp_path))
  assert not any(arg.startswith("--epochs") for arg in cells[0].command)  # flagfile: 440
  epochs = [arg for arg in cells[1].command if arg.startswith("--epochs")]
  assert epochs == ["--epochs=200", "--epochs=320"]  # the paper's App. B count wins


@pytest.mark.parametrize("entries,expected", [
    (["ract"], "expected METHOD:--flag=value"),
    (["ract:actor_epochs=3"], "expected METHOD:--flag=value"),
])
def test_bad_method_flags(entries, expected):
  with pytest.raises(InputError, match=expected):
    parse_method_flags(entries)


def test_method_flags_for_a_method_not_compared(tmp_path):
  settings = _settings(tmp_path, method_flags={"ract": ["--actor_epochs=3"]})
  with pytest.raises(InputError, match="--method_flags names ract, not in --methods"):
    plan_cells(get_methods(["ease"], "loo_sampled"), [0], settings)


PARSE = """
import importlib, json, sys
from absl import flags
importlib.import_module("tfrankcf.binaries.train_baseline")
for line in sys.stdin:
  flags.FLAGS.unparse_flags()
  flags.FLAGS(["train_baseline"] + json.loads(line))
  print(json.dumps([flags.FLAGS.method, flags.FLAGS.loss, flags.FLAGS.backbone,
                    flags.FLAGS.epochs, flags.FLAGS.seed, flags.FLAGS.split_seed]))
"""


def test_train_baseline_parses_every_command(tmp_path):
  """Every train_baseline method's command parses, and the last --epochs wins."""
  names = [name for name, spec in METHODS.items() if spec.binary == "train_baseline"]
  cells = plan_cells(get_methods(names, "loo_sampled"), [2], _settings(tmp_path, epochs=9))
  lines = "".join(json.dumps(list(cell.command[3:])) + "\n" for cell in cells)
  result = subprocess.run([sys.executable, "-c", PARSE], input=lines, capture_output=True,
                          text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  parsed = dict(zip(names, (json.loads(line) for line in result.stdout.splitlines())))
  assert len(parsed) == len(names)
  assert parsed["listmle"] == ["ease", "listmle", "graphrec", 9, 2, 3]
  assert parsed["vae_softmax"][:2] == ["vae", "softmax"]
  assert parsed["itempop"][0] == "itempop" and parsed["itempop"][3] == 1  # closed form
