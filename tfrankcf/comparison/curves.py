"""Learning curves of a comparison: one PNG per validation metric, methods overlaid.

Each trained method's curve is its validation metric per evaluated epoch,
averaged over the seeds at the epochs every seed evaluated (runs stopped
early end the curve at the shortest run). Closed-form methods have no epochs:
their validation value is a dashed horizontal line.
"""

import io
import os

import numpy as np

from tfrankcf.training.results import write_atomic


def mean_curve(histories: list, metric: str) -> tuple:
  """(epochs, mean over histories) at the epochs where every history has `metric`."""
  curves = [{entry["epoch"]: entry["valid"][metric] for entry in history
             if metric in entry.get("valid", {}) and entry["valid"][metric] is not None}
            for history in histories]
  curves = [curve for curve in curves if curve]
  if not curves:
    return [], []
  epochs = sorted(set.intersection(*(set(curve) for curve in curves)))
  return epochs, [float(np.mean([curve[e] for curve in curves])) for e in epochs]


def plot_curves(summary: dict, output_dir: str, title: str) -> list[str]:
  """Writes curves_<metric>.png for every reported metric of `summary`; returns the paths.

  `summary` is `aggregate.summarize`'s: each method has its runs' histories.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top

  paths = []
  for metric in summary["metrics"]:
    figure, axes = plt.subplots(figsize=(8, 5))
    drawn = False
    for index, name in enumerate(summary["order"]):
      method, color = summary["methods"][name], f"C{index % 10}"
      histories = list(method["histories"].values())
      if method["closed_form"]:
        value = method["valid"][metric]["mean"]
        if value is not None:
          axes.axhline(value, linestyle="--", linewidth=1, color=color,
                       label=f"{method['label']} (closed form)")
          drawn = True
        continue
      epochs, values = mean_curve(histories, metric)
      if epochs:
        axes.plot(epochs, values, color=color, marker="." if len(epochs) < 30 else None,
                  label=f"{method['label']} ({len(histories)} seeds)")
        drawn = True
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"validation {metric} (mean over seeds)")
    axes.set_title(title)
    if drawn:
      axes.legend(fontsize=7)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    path = os.path.join(output_dir, f"curves_{metric}.png")
    write_atomic(path, buffer.getvalue())
    paths.append(path)
  return paths
