"""Every flagfile in configs/ parses with the binary its header names and names no path.

A flagfile holds a method's settings on a registered dataset; a user points at
their own file or split directory with `--dataset=...` after the flagfile.
"""

import collections
import glob
import os
import re
import subprocess
import sys

import pytest

from tfrankcf.datasets import REGISTRY

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.cfg")))
# A binary of several methods defines the flags of the one a flagfile selects (`define`).
PARSE = """
import importlib, sys
from absl import flags
module = importlib.import_module("tfrankcf.binaries." + sys.argv[1])
for path in sys.argv[2:]:
  flags.FLAGS.unparse_flags()
  argv = ["binary", "--flagfile=" + path]
  if hasattr(module, "define"):
    module.define(argv)
  flags.FLAGS(argv)
  print("parsed", path)
"""


def _binary(path: str) -> str:
  with open(path) as f:
    names = re.findall(r"\b(train_[a-z]+)\b", f.read())
  assert names, f"{path}: its header comment names no binary"
  return names[0]


def _by_binary() -> dict:
  groups = collections.defaultdict(list)
  for path in CONFIGS:
    groups[_binary(path)].append(path)
  return groups


# Flags whose value is a file or directory: never in a flagfile.
PATH_FLAGS = ("data_dir", "output_dir", "test_file", "export_dir", "flagfile", "item_names")


def _settings(path: str) -> list:
  """(line number, name, value) of each `--name=value` line."""
  settings = []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      match = re.match(r"--([A-Za-z0-9_]+)(?:=(.*))?$", line.strip())
      if match:
        settings.append((number, match.group(1), match.group(2) or ""))
  return settings


def _pairs(path: str) -> list:
  return [(name, value) for _, name, value in _settings(path)]


def test_there_are_flagfiles():
  assert len(CONFIGS) >= 10


@pytest.mark.parametrize("binary", sorted(_by_binary()))
def test_flagfiles_parse(binary):
  paths = _by_binary()[binary]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run([sys.executable, "-c", PARSE, binary, *paths], capture_output=True,
                          text=True, env=env, timeout=300, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.count("parsed") == len(paths)


def _path_problems(path: str) -> list:
  """What in the flagfile is not a registered dataset or names a file or directory."""
  settings = _settings(path)
  problems = [f"--dataset={value} is not a registered dataset"
              for _, name, value in settings if name == "dataset" and value not in REGISTRY]
  if not any(name == "dataset" for _, name, _ in settings):
    problems.append("no --dataset")
  for number, name, value in settings:
    if name in PATH_FLAGS or re.search(r"[/\\]", value) or value.startswith("~"):
      problems.append(f"line {number}: --{name}={value} names a path")
  return problems


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_flagfiles_name_registered_datasets_and_no_path(path):
  assert _path_problems(path) == []


def test_the_ml1m_strong_split_is_the_registry_default():
  """The ml1m strong flagfiles state the Mult-VAE preprocessing the registry applies."""
  spec = REGISTRY["ml1m"]
  paths = [p for p in CONFIGS if ("dataset", "ml1m") in _pairs(p) and
           ("protocol", "strong") in _pairs(p)]
  assert len(paths) == 4
  for path in paths:
    values = dict(_pairs(path))
    assert float(values["positive_threshold"]) == spec.positive_threshold == 4
    assert float(values["heldout_users"]) == spec.heldout_users == 600
    with open(path) as f:  # the header says how to use a ready split instead
      assert "--dataset=path/to/ml-1m-vaecf" in f.read()


def test_a_path_fails_the_check(tmp_path):
  """The path check can fail: the ML-1M flagfiles named ../shared/data/ml-1m-vaecf."""
  bad = tmp_path / "bad.cfg"
  bad.write_text("# train_ract\n--dataset=../shared/data/ml-1m-vaecf\n--protocol=strong\n"
                 "--output_dir=runs\n")
  assert _path_problems(str(bad)) == [
      "--dataset=../shared/data/ml-1m-vaecf is not a registered dataset",
      "line 2: --dataset=../shared/data/ml-1m-vaecf names a path",
      "line 4: --output_dir=runs names a path"]


def test_a_bad_flag_fails_the_check(tmp_path):
  """The check above can fail: an unknown flag in a flagfile is an error."""
  bad = tmp_path / "bad.cfg"
  bad.write_text("# train_cfsfl\n--unroll_stepz=3\n")
  result = subprocess.run([sys.executable, "-c", PARSE, "train_cfsfl", str(bad)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode != 0 and "unroll_stepz" in result.stderr
