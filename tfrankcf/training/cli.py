"""What every binary does around its library call: one-line errors and exit codes."""

import logging
import sys
from typing import Callable

from absl import app

from tfrankcf.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3


def run(main: Callable[[list], None]) -> None:
  """`absl.app.run(main)`, turning bad input into one line on stderr and exit code 2."""

  def guarded(argv):
    try:
      main(argv)
    except InputError as error:
      print(f"error: {error}", file=sys.stderr)
      sys.exit(EXIT_BAD_INPUT)
    except Exception as error:  # pylint: disable=broad-except
      from tfrankcf.training.loop import TrainingDiverged  # pylint: disable=g-import-not-at-top
      if isinstance(error, TrainingDiverged):
        print(f"error: training diverged: {error}", file=sys.stderr)
        sys.exit(EXIT_DIVERGED)
      raise

  logging.getLogger("tensorflow").setLevel(logging.ERROR)
  app.run(guarded)
