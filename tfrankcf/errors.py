"""Errors for bad input, rendered by the binaries as one line and a non-zero exit."""


class InputError(Exception):
  """Bad user input: a missing or malformed file, an unknown name, a bad checksum.

  The message names the file, the line (when there is one) and the problem, so a
  binary can print `str(error)` as its single error line.
  """

  def __init__(self, problem: str, path=None, line: int | None = None):
    self.problem = problem
    self.path = None if path is None else str(path)
    self.line = line
    where = ""
    if self.path is not None:
      where = self.path if line is None else f"{self.path}:{line}"
      where += ": "
    super().__init__(where + problem)


class Interrupted(KeyboardInterrupt):
  """Ctrl-C during training, raised by the fit loop in place of a bare KeyboardInterrupt.

  `epoch` is the last epoch whose checkpoint was written (0: none yet); rerunning
  the same command resumes from it. The binaries print `str(error)` as one line.
  """

  def __init__(self, epoch: int):
    self.epoch = int(epoch)
    where = (f"after epoch {self.epoch}" if self.epoch > 0 else "during epoch 1")
    super().__init__(f"interrupted {where}; rerun the same command to resume")


class TrainingDiverged(RuntimeError):
  """A training loss (or the weights) became NaN or infinite; raised by the fit loop.

  Here, beside the other errors a binary renders as one line (exit 3), so that the
  command-line layer catches it without importing the loop.
  """
