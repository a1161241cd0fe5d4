"""Tests of the cells' command lines: flagfile lookup, precedence, and that binaries parse them."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from absl import flags

from tfrankcf.comparison.commands import (DEFAULT_CONFIGS_DIR, Settings, choose_flagfile,
                                          find_flagfile, parse_method_flags, plan_cells)
from tfrankcf.comparison.dataset_kind import dataset_kind
from tfrankcf.comparison.registry import METHODS, get_methods
from tfrankcf.datasets.vaecf_layout import FILES as VAECF_FILES
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
    ("vae", "ml100k", "strong", None),
    ("ract", "ml1m", "strong", "ract_ml1m-strong.cfg"),
    ("vae_listmle", "ml1m", "strong", "vae-losses_ml1m-strong.cfg"),
    ("ease", "ml100k", "loo_sampled", None),
])
def test_flagfile_matches_dataset_and_protocol(method, dataset, protocol, expected):
  found = find_flagfile(METHODS[method], dataset, protocol, DEFAULT_CONFIGS_DIR)
  assert (os.path.basename(found) if found else None) == expected


def test_the_shipped_ml1m_flagfiles_serve_a_mult_vae_split_directory(tmp_path):
  split_dir = _vaecf_dir(tmp_path / "ml-1m-vaecf")
  for method, expected in (("ract", "ract_ml1m-strong.cfg"), ("cfsfl", "cfsfl_ml1m-strong.cfg"),
                           ("dae", "dae-losses_ml1m-strong.cfg")):
    found = find_flagfile(METHODS[method], split_dir, "strong", DEFAULT_CONFIGS_DIR)
    assert os.path.basename(found) == expected


def test_flagfile_without_variant_is_preferred(tmp_path):
  for name in ("ract_ml100k-strong.cfg", "ract_ml100k.cfg"):
    (tmp_path / name).write_text("--dataset=ml100k\n--protocol=strong\n")
  found = find_flagfile(METHODS["ract"], "ml100k", "strong", str(tmp_path))
  assert os.path.basename(found) == "ract_ml100k.cfg"
  assert find_flagfile(METHODS["ract"], "ml100k", "strong", "") is None


def _vaecf_dir(path):
  path.mkdir(parents=True)
  for name in VAECF_FILES:
    (path / name).write_text("")
  return str(path)


def test_dataset_kind(tmp_path):
  assert dataset_kind("ml1m") == ("ml1m", "a registered dataset")
  assert dataset_kind(str(tmp_path / "ml-100k" / "u.data"))[0] == "ml100k"
  assert dataset_kind(str(tmp_path / "ratings.dat")) == ("ml1m", "ml1m's release file ratings.dat")
  assert dataset_kind("x/ratings.csv")[0] == "ml20m"
  assert dataset_kind("pinterest-20.train.rating")[0] == "pinterest"
  assert dataset_kind(_vaecf_dir(tmp_path / "ml-1m-vaecf") + "/") == (
      "ml1m", "a Mult-VAE split directory named for ml1m")
  assert dataset_kind(_vaecf_dir(tmp_path / "ML_20M_split"))[0] == "ml20m"
  assert dataset_kind(_vaecf_dir(tmp_path / "mysplit")) == (
      None, "a Mult-VAE split directory whose name 'mysplit' names no registered dataset")
  assert "more than one (ml1m, ml20m)" in dataset_kind(_vaecf_dir(tmp_path / "ml1m-ml20m"))[1]
  (tmp_path / "ml1m").mkdir()
  assert dataset_kind(str(tmp_path / "ml1m")) == (None, "a directory but not a Mult-VAE split")
  assert dataset_kind("data/mine.csv") == (
      None, "'mine.csv' is not the release file of a registered dataset")


@pytest.fixture(name="configs")
def fixture_configs(tmp_path):
  """A configs dir with flagfiles naming registered datasets, and one older one naming a path."""
  configs = tmp_path / "configs"
  configs.mkdir()
  (configs / "ract_ml1m-strong.cfg").write_text(
      "# RaCT on ML-1M\n--dataset=ml1m\n--protocol=strong\n--actor_epochs=7\n")
  (configs / "ract_ml100k-strong.cfg").write_text("--dataset=ml100k\n--protocol=strong\n")
  legacy = _vaecf_dir(tmp_path / "elsewhere" / "some-split")
  (configs / "cfsfl_mine.cfg").write_text(f"--dataset={legacy}\n--protocol=strong\n")
  return str(configs), legacy


def test_flagfile_for_a_path_by_the_kind_of_dataset_it_holds(tmp_path, configs):
  configs_dir, legacy = configs
  split_dir = _vaecf_dir(tmp_path / "data" / "ml-1m-vaecf")
  ract = METHODS["ract"]
  choice = choose_flagfile(ract, split_dir, "strong", configs_dir)
  assert os.path.basename(choice.path) == "ract_ml1m-strong.cfg"
  assert choice.note == (f"sets --dataset=ml1m --protocol=strong; --dataset={split_dir} is a "
                         "Mult-VAE split directory named for ml1m, given after it")
  ratings = str(tmp_path / "ml-1m" / "ratings.dat")
  assert os.path.basename(find_flagfile(ract, ratings, "strong", configs_dir)) == (
      "ract_ml1m-strong.cfg")
  assert choose_flagfile(ract, "ml1m", "strong", configs_dir).note == (
      "sets --dataset=ml1m --protocol=strong")
  # An older flagfile naming a path matches that path.
  assert find_flagfile(METHODS["cfsfl"], legacy, "strong", configs_dir).endswith("cfsfl_mine.cfg")
  none = {
      (ract.name, "ml1m", "loo_sampled"):
          "none of ract_ml100k-strong.cfg, ract_ml1m-strong.cfg is for ml1m under "
          "--protocol=loo_sampled",
      (ract.name, "data/mine.csv", "strong"):
          "--dataset=data/mine.csv is not a registered dataset ('mine.csv' is not the "
          "release file of a registered dataset), so no flagfile applies",
      ("itempop", "ml1m", "strong"): "no flagfile family: the registry's flags only",
      ("vae", "ml1m", "strong"): f"no vae-losses_*.cfg in {configs_dir}",
  }
  for (method, dataset, protocol), note in none.items():
    assert choose_flagfile(METHODS[method], dataset, protocol, configs_dir) == (
        type(choice)(None, note))
  assert choose_flagfile(ract, "ml1m", "strong", "").note == "--configs_dir is empty"


def test_a_path_comes_after_the_flagfile_and_wins(tmp_path, configs):
  split_dir = _vaecf_dir(tmp_path / "data" / "ml-1m-vaecf")
  settings = Settings(dataset=split_dir, protocol="strong", output_dir=str(tmp_path / "out"),
                      configs_dir=configs[0])
  (cell,) = plan_cells(get_methods(["ract"], "strong"), [0], settings)
  command = list(cell.command)
  assert command.index(f"--flagfile={cell.flagfile}") < command.index(f"--dataset={split_dir}")
  assert cell.flagfile_note.startswith("sets --dataset=ml1m --protocol=strong")
  # absl expands the flagfile in place: the later --dataset wins.
  values = flags.FlagValues()
  flags.DEFINE_string("dataset", "ml100k", "", flag_values=values)
  flags.DEFINE_string("protocol", "loo_sampled", "", flag_values=values)
  flags.DEFINE_integer("actor_epochs", 1, "", flag_values=values)
  values(["ract", f"--flagfile={cell.flagfile}", f"--dataset={split_dir}"])
  assert (values.dataset, values.protocol, values.actor_epochs) == (split_dir, "strong", 7)


def test_dataset_flags_follow_the_kind_of_a_path(tmp_path):
  settings = Settings(dataset=str(tmp_path / "u.data"), protocol="loo_sampled",
                      output_dir=str(tmp_path / "out"), configs_dir="")
  (cell,) = plan_cells(get_methods(["listmle"], "loo_sampled"), [0], settings)
  assert "--epochs=44" in cell.command  # the paper's ML-100K epochs for ListMLE


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


# Each command in a freshly imported train_baseline (its flags are the selected method's).
PARSE = """
import json, sys
from absl import flags
{load}
for line in sys.stdin:
  argv = ["train_baseline"] + json.loads(line)
  load("train_baseline").define(argv)
  flags.FLAGS(argv)
  print(json.dumps([flags.FLAGS.method, getattr(flags.FLAGS, "loss", None),
                    flags.FLAGS.backbone, flags.FLAGS.epochs, flags.FLAGS.seed,
                    flags.FLAGS.split_seed]))
""".replace("{load}", (pathlib.Path(__file__).parent.parent / "binaries"
                        / "fresh_binary.py").read_text())


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
  assert parsed["listmle"] == ["listwise", "listmle", "graphrec", 9, 2, 3]
  assert parsed["vae_softmax"][:2] == ["vae", "softmax"]
  assert parsed["itempop"][0] == "itempop" and parsed["itempop"][3] == 1  # closed form
