"""TensorBoard summaries of every epoch: its trackers, validation metrics and diagnostics."""

import os

import tensorflow as tf

from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part


class TensorBoardSummaries(Part):
  """Writes `train/<tracker>`, `valid/<metric>` and `diagnostics/<name>` at step epoch + 1."""

  def __init__(self, output_dir: str):
    self.directory = os.path.join(output_dir, "tensorboard")
    self.writer = None

  def on_train_begin(self, run: FitState) -> None:
    self.writer = tf.summary.create_file_writer(self.directory)

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    with self.writer.as_default(step=epoch.index + 1):
      for key, value in epoch.logs.items():
        tf.summary.scalar(f"train/{key}", value)
      for key, value in (epoch.valid or {}).items():
        tf.summary.scalar(f"valid/{key}", value)
      for key, value in (epoch.diagnostics or {}).items():
        tf.summary.scalar(f"diagnostics/{key}", value)

  def on_train_end(self, run: FitState) -> None:
    self.writer.flush()
