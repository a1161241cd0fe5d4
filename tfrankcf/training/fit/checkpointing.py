"""The checkpoint of every epoch, its history, and the resume from them.

After each epoch the model, its optimiser, the epoch counter and the other
parts' trackables (the best validation epoch) are checkpointed to
`<output_dir>/checkpoints` (the last two kept), just after the history of the
finished epochs (`checkpoints/history.json`). The checkpoint is the last file an
epoch writes, so it marks the epoch done: a run killed at any moment resumes
from a finished epoch, and a run killed after writing an epoch's other files
repeats that epoch and rewrites the same files. A rerun with the same output
directory restores the latest checkpoint and its history and trains on from
there.
"""

import json
import logging
import os

import tensorflow as tf

from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part
from tfrankcf.training.results import write_json


def checkpointed_epoch(output_dir: str) -> int:
  """The epoch of the latest checkpoint in `output_dir` (0: none), which a rerun resumes after."""
  state = tf.train.get_checkpoint_state(os.path.join(output_dir, "checkpoints"))
  try:
    return int(state.model_checkpoint_path.rsplit("-", 1)[1])
  except (AttributeError, IndexError, ValueError):
    return 0


class Checkpointing(Part):
  """Resumes from the latest checkpoint; checkpoints every epoch, last of its writes.

  Place it after every part that writes a file of the epoch.

  Args:
    model: the model (its optimisers must be attributes of the model or set by
      `compile`, so they are checkpointed).
    output_dir: the checkpoints go to `<output_dir>/checkpoints`.
    trackables: more state to checkpoint, by name (the best validation epoch).
  """

  def __init__(self, model: tf.keras.Model, output_dir: str, trackables: dict):
    self.directory = os.path.join(output_dir, "checkpoints")
    self.history_path = os.path.join(self.directory, "history.json")
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    objects = dict(model=model, **trackables, epoch=self.epoch)
    if model.optimizer is not None:
      objects["optimizer"] = model.optimizer
    self.checkpoint = tf.train.Checkpoint(**objects)
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=2)

  @property
  def latest(self) -> str | None:
    """The latest checkpoint's prefix (None: none written yet)."""
    return self.manager.latest_checkpoint

  def on_train_begin(self, run: FitState) -> None:
    history = []
    if self.manager.latest_checkpoint:
      self.checkpoint.restore(self.manager.latest_checkpoint)
      run.restored()
      if os.path.exists(self.history_path):
        with open(self.history_path) as f:
          history = json.load(f)
      logging.info("Resumed from %s at epoch %d", self.manager.latest_checkpoint,
                   int(self.epoch.numpy()))
    run.epochs_done = int(self.epoch.numpy())
    # A run killed between writing an epoch's history and its checkpoint repeats that epoch.
    run.history = history[:run.epochs_done]

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    run.history.append(epoch.entry())
    write_json(self.history_path, run.history)
    self.epoch.assign(epoch.index + 1)
    self.manager.save(checkpoint_number=epoch.index + 1)
    run.epochs_done = epoch.index + 1
