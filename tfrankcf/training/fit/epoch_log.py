"""The log line of every epoch: its trackers, validation and the best epoch so far, time.

A staged method's line names its stage and shows only the trackers that stage
updates (`epoch.Epoch.logs`).
"""

import logging

from tfrankcf.training.fit.epoch import Epoch
from tfrankcf.training.fit.part import FitState, Part


def epoch_line(epoch: int, epochs: int, logs: dict, valid: dict | None, selection: str,
               best: float, best_epoch: int, seconds: float, stage: str | None = None) -> str:
  """'epoch 3/10 (stage)  loss 0.1234  valid ndcg@100 0.4000 (best 0.4100 @ 2)  1.2s'."""
  parts = [f"epoch {epoch + 1}/{epochs}" + (f" ({stage})" if stage else "")]
  parts += [f"{k} {v:.4f}" for k, v in logs.items()]
  if valid is not None:
    parts.append(f"valid {selection} {valid[selection]:.4f} "
                 f"(best {best:.4f} @ {best_epoch + 1})")
  parts.append(f"{seconds:.1f}s")
  return "  ".join(parts)


class EpochLog(Part):
  """Logs one line per epoch, after its validation (`selection`: the run's `Selection`)."""

  def __init__(self, selection):
    self.selection = selection

  def on_epoch_end(self, run: FitState, epoch: Epoch) -> None:
    logging.info(epoch_line(epoch.index, run.epochs, epoch.logs, epoch.valid,
                            self.selection.metric, self.selection.best_value,
                            self.selection.best_epoch, epoch.seconds, epoch.stage))
