"""A part of the fit loop: the hooks the loop calls and the run state they share.

The loop calls every part's hook in the order of its part list, so an order is a
guarantee (an epoch's checkpoint is the last file it writes, because the
checkpointing part is the last writer). A part keeps its own state; what several
parts read (the history, the epochs done, whether to stop) is in `FitState`.
"""

import tensorflow as tf

from tfrankcf.training.fit.epoch import Epoch


class Part:
  """One job of the fit loop; every hook does nothing unless overridden."""

  def on_train_begin(self, run: "FitState") -> None:
    """Before the first epoch of this process (after a resume, of the first one to train)."""

  def on_epoch_begin(self, run: "FitState", epoch: int) -> None:
    """Before epoch `epoch` (0-based) builds its dataset and trains."""

  def on_epoch_end(self, run: "FitState", epoch: Epoch) -> None:
    """After `epoch` trained; parts before this one may have validated it (`epoch.valid`)."""

  def on_restore(self, run: "FitState") -> None:
    """Right after a part read saved state back into the model (checkpoint, best weights)."""

  def on_train_end(self, run: "FitState") -> None:
    """After the last epoch, with the model as that epoch left it."""


class FitState:
  """What the parts of one run share, and the dispatch of their hooks.

  Attributes:
    model: the model being trained.
    epochs: the epochs of the whole run (a resumed run counts the earlier ones).
    history: one entry per finished epoch (`Epoch.entry`), the resumed ones first.
    epochs_done: the epochs finished and checkpointed; training resumes after them.
    stop_training: set by a part to end training before the next epoch.
  """

  def __init__(self, model: tf.keras.Model, epochs: int, parts: list):
    self.model, self.epochs, self.parts = model, epochs, list(parts)
    self.history: list = []
    self.epochs_done = 0
    self.stop_training = False

  def train_begin(self) -> None:
    for part in self.parts:
      part.on_train_begin(self)

  def epoch_begin(self, epoch: int) -> None:
    for part in self.parts:
      part.on_epoch_begin(self, epoch)

  def epoch_end(self, epoch: Epoch) -> None:
    for part in self.parts:
      part.on_epoch_end(self, epoch)

  def restored(self) -> None:
    """Tells every part that saved state was just read back into the model."""
    for part in self.parts:
      part.on_restore(self)

  def train_end(self) -> None:
    for part in self.parts:
      part.on_train_end(self)
