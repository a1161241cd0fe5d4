"""Every flagfile in configs/ parses with the binary its header names (no unknown flag or bad value)."""

import collections
import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.cfg")))
PARSE = """
import importlib, sys
from absl import flags
importlib.import_module("tfrankcf.binaries." + sys.argv[1])
for path in sys.argv[2:]:
  flags.FLAGS.unparse_flags()
  flags.FLAGS(["binary", "--flagfile=" + path])
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


def test_a_bad_flag_fails_the_check(tmp_path):
  """The check above can fail: an unknown flag in a flagfile is an error."""
  bad = tmp_path / "bad.cfg"
  bad.write_text("# train_cfsfl\n--unroll_stepz=3\n")
  result = subprocess.run([sys.executable, "-c", PARSE, "train_cfsfl", str(bad)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode != 0 and "unroll_stepz" in result.stderr
