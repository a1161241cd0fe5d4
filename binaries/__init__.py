"""Command-line entry points (installed as console scripts; see setup.py).

Imported before any binary module, hence before TensorFlow: the binaries start
quiet, without TensorFlow's C++ start-up logging (oneDNN, CUDA and CPU-feature
notices) and its Python-side warnings, unless the user sets
TF_CPP_MIN_LOG_LEVEL or passes --verbosity (-v).
"""

import logging
import os
import sys

QUIET_TF_CPP_LOG_LEVEL = "3"  # only FATAL: what kills the process is still said


def _verbose(args: list) -> bool:
  """Whether the command line sets absl's --verbosity (or -v), before a `--`."""
  for arg in args:
    if arg == "--":
      return False
    if arg.startswith("-") and arg.lstrip("-").split("=", 1)[0] in ("verbosity", "v"):
      return True
  return False


if not _verbose(sys.argv[1:]):
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_LOG_LEVEL)
  logging.getLogger("tensorflow").setLevel(logging.ERROR)
