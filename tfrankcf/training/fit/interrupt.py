"""Ctrl-C during training becomes `tfrankcf.errors.Interrupted`, naming the epoch to resume after.

Nothing is written on the way out: every file of the loop is already atomic and
the checkpoint, written last, marks an epoch done (as for a SIGKILL).
"""

import functools
import inspect

from tfrankcf.errors import Interrupted
from tfrankcf.training.fit.checkpointing import checkpointed_epoch


def interruptible(train):
  """`train` (which takes an `output_dir` argument) with Ctrl-C raised as `Interrupted`."""
  signature = inspect.signature(train)

  @functools.wraps(train)
  def guarded(*args, **kwargs):
    try:
      return train(*args, **kwargs)
    except Interrupted:
      raise
    except KeyboardInterrupt:
      output_dir = signature.bind(*args, **kwargs).arguments["output_dir"]
      raise Interrupted(checkpointed_epoch(output_dir)) from None

  return guarded
