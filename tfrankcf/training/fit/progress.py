"""The progress line of a long epoch: steps done of the epoch's, examples per second."""

import logging
import time
from typing import Callable

import tensorflow as tf

PROGRESS_INTERVAL = 10.0  # seconds between the progress lines of a long epoch


class EpochProgress(tf.keras.callbacks.Callback):
  """A line every `interval` seconds of a long epoch: steps done of the total, examples/s.

  Short epochs stay silent (their one epoch line suffices). `clock` is injectable so
  that tests need not wait.
  """

  def __init__(self, label: str, steps: int | None = None,
               examples_per_epoch: int | None = None, interval: float = PROGRESS_INTERVAL,
               clock: Callable[[], float] = time.monotonic,
               log: Callable[[str], None] = logging.info):
    super().__init__()
    self._supports_tf_logs = True  # reads no logs: Keras need not fetch them every step
    self.label, self.steps, self.examples_per_epoch = label, steps, examples_per_epoch
    self.interval, self.clock, self.log = interval, clock, log
    self.start = self.last = None

  def on_epoch_begin(self, epoch, logs=None):
    self.start = self.last = self.clock()

  def on_train_batch_end(self, batch, logs=None):
    now = self.clock()
    if self.start is None:
      self.start = self.last = now
    if now - self.last < self.interval:
      return
    self.last = now
    self.log(self.line(batch + 1, now - self.start))  # `batch`: the last step done, from 0

  def line(self, done: int, elapsed: float) -> str:
    """'<label>: step <done>/<total> (<%>), <rate> examples/s, <elapsed> s, eta <s> s'."""
    total = self.steps or getattr(self, "params", {}).get("steps")  # Keras's, when it knows
    parts = [f"{self.label}: step {done}" + (f"/{total} ({100 * done / total:.0f}%)"
                                             if total else "")]
    rate = done / max(elapsed, 1e-9)
    if self.examples_per_epoch and total:
      parts.append(f"{rate * self.examples_per_epoch / total:.0f} examples/s")
    else:
      parts.append(f"{rate:.1f} steps/s")
    parts.append(f"{elapsed:.0f} s")
    if total:
      parts.append(f"eta {max(total - done, 0) / rate:.0f} s")
    return ", ".join(parts)
