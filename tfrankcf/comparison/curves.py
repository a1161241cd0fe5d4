"""Plots of a comparison: learning curves per validation metric, and the test metrics.

`curves_<metric>.png` has two panels: the validation metric per evaluated
epoch (left) and the training loss per epoch (right, the runs' history
`loss`), each trained method as its mean over seeds with a band of ± one
standard deviation, at the epochs every seed reached (runs stopped early end
the curve at the shortest run). Closed-form methods have no epochs: their
validation value is a dashed horizontal line. Epoch ticks are integers.

`test_metrics.png` has one panel per reported metric: each finished method's
mean test value as a bar, with an error bar of ± one standard deviation over
seeds (none for a single fit).
"""

import io
import math
import os

import numpy as np

from tfrankcf.training.results import write_atomic

BARS = "test_metrics.png"
LOSS = "loss"  # the history key of the training objective (every method's loss tracker)


def epoch_ticks(first: int, last: int, max_ticks: int = 10) -> list[int]:
  """Integer ticks between epochs `first` and `last`: multiples of 1, 2 or 5 x 10^k.

  The smallest such step that gives at most `max_ticks` ticks; `first` alone
  when the range is one epoch.
  """
  if last < first:
    return []
  if last == first:
    return [int(first)]
  magnitude = 1
  while True:
    for factor in (1, 2, 5):
      step = factor * magnitude
      ticks = list(range(math.ceil(first / step) * step, int(last) + 1, step))
      if len(ticks) <= max_ticks:
        return ticks
    magnitude *= 10


def seed_band(histories: list, value) -> tuple:
  """(epochs, mean, std) over histories at the epochs where every history has a value.

  `value(entry)` is an epoch's number or None; std is the sample standard
  deviation over the histories (0 for one history).
  """
  curves = []
  for history in histories:
    curve = {}
    for entry in history:
      number = value(entry)
      if number is not None and math.isfinite(number):
        curve[entry["epoch"]] = number
    if curve:
      curves.append(curve)
  if not curves:
    return [], [], []
  epochs = sorted(set.intersection(*(set(curve) for curve in curves)))
  table = np.asarray([[curve[e] for e in epochs] for curve in curves], np.float64)
  std = table.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(len(epochs))
  return epochs, [float(v) for v in table.mean(axis=0)], [float(v) for v in std]


def _valid(metric: str):
  return lambda entry: entry.get("valid", {}).get(metric)


def mean_curve(histories: list, metric: str) -> tuple:
  """(epochs, mean over histories) of the validation `metric` at the epochs all have."""
  epochs, means, _ = seed_band(histories, _valid(metric))
  return epochs, means


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  return pyplot


def _draw_band(axes, epochs, means, stds, color, label) -> None:
  means, stds = np.asarray(means), np.asarray(stds)
  axes.plot(epochs, means, color=color, marker="." if len(epochs) < 30 else None, label=label)
  if np.any(stds > 0):
    axes.fill_between(epochs, means - stds, means + stds, color=color, alpha=0.2, linewidth=0)


def _set_epoch_ticks(axes, epochs: list) -> None:
  if epochs:
    axes.set_xticks(epoch_ticks(min(epochs), max(epochs)))


def _save(plt, figure, path: str) -> str:
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
  plt.close(figure)
  write_atomic(path, buffer.getvalue())
  return path


def plot_curves(summary: dict, output_dir: str, title: str) -> list[str]:
  """Writes curves_<metric>.png for every reported metric of `summary`; returns the paths.

  `summary` is `aggregate.summarize`'s: each method has its runs' histories.
  """
  plt = _pyplot()
  paths = []
  for metric in summary["metrics"]:
    figure, (valid_axes, loss_axes) = plt.subplots(1, 2, figsize=(13, 5))
    all_epochs, loss_epochs, drawn, losses = [], [], False, False
    for index, name in enumerate(summary["order"]):
      method, color = summary["methods"][name], f"C{index % 10}"
      histories = list(method["histories"].values())
      if method["closed_form"]:
        value = method["valid"][metric]["mean"]
        if value is not None:
          valid_axes.axhline(value, linestyle="--", linewidth=1, color=color,
                             label=f"{method['label']} (closed form)")
          drawn = True
        continue
      label = f"{method['label']} ({len(histories)} seed{'s' if len(histories) != 1 else ''})"
      epochs, means, stds = seed_band(histories, _valid(metric))
      if epochs:
        _draw_band(valid_axes, epochs, means, stds, color, label)
        all_epochs += epochs
        drawn = True
      epochs, means, stds = seed_band(histories, lambda entry: entry.get(LOSS))
      if epochs:
        _draw_band(loss_axes, epochs, means, stds, color, label)
        loss_epochs += epochs
        losses = True
    for axes, epochs in ((valid_axes, all_epochs), (loss_axes, loss_epochs)):
      axes.set_xlabel("epoch")
      _set_epoch_ticks(axes, epochs)
    valid_axes.set_ylabel(f"validation {metric} (mean ± std over seeds)")
    valid_axes.set_title(title)
    loss_axes.set_ylabel("training loss (mean ± std over seeds)")
    loss_axes.set_title("training loss")
    if drawn:
      valid_axes.legend(fontsize=7)
    if losses:
      loss_axes.legend(fontsize=7)
    else:
      loss_axes.text(0.5, 0.5, "no trained method recorded a loss", ha="center",
                     va="center", transform=loss_axes.transAxes)
    paths.append(_save(plt, figure, os.path.join(output_dir, f"curves_{metric}.png")))
  return paths


def plot_test_bars(summary: dict, output_dir: str, title: str) -> str:
  """Writes test_metrics.png (a bar per method and metric, error bars over seeds)."""
  plt = _pyplot()
  metrics = summary["metrics"]
  columns = min(3, len(metrics)) or 1
  rows = max(1, math.ceil(len(metrics) / columns))
  figure, grid = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.8 * rows),
                              squeeze=False)
  names = [name for name in summary["order"] if summary["methods"][name]["finished"]]
  labels = [summary["methods"][name]["label"] for name in names]
  for axes, metric in zip(grid.ravel(), metrics):
    stats = [summary["methods"][name]["test"][metric] for name in names]
    means = [np.nan if s["mean"] is None else s["mean"] for s in stats]
    errors = [0.0 if s["std"] is None else s["std"] for s in stats]
    positions = np.arange(len(names))
    axes.bar(positions, means, yerr=errors, capsize=4,
             color=[f"C{summary['order'].index(name) % 10}" for name in names])
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    axes.set_title(f"test {metric}", fontsize=9)
  for axes in grid.ravel()[len(metrics):]:
    axes.axis("off")
  figure.suptitle(f"{title} (mean ± std over seeds; no error bar: one fit)", fontsize=10)
  figure.tight_layout()
  return _save(plt, figure, os.path.join(output_dir, BARS))
