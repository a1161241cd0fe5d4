"""comparison.md, comparison.csv and comparison.json from a comparison's summary.

All three are written atomically. The Markdown table has one row per method
and one column per test metric (mean ± std over seeds, the value alone for a
single fit, the best in bold), then the paired test of the selection metric
against the reference row and the time each method took. The CSV has the
same numbers unformatted; the JSON has everything, including every cell's
values, command and status.
"""

import csv
import io
import os

from tfrankcf.comparison.curves import BARS
from tfrankcf.training.results import write_atomic, write_json

MARKDOWN = "comparison.md"
CSV = "comparison.csv"
JSON = "comparison.json"


def _p(value) -> str:
  return "–" if value is None else f"{value:.2g}"


def _seconds(value) -> str:
  return "–" if value is None else f"{value:.0f}"


def _seeds(method: dict) -> str:
  if method["closed_form"]:
    text = "1 fit" if method["finished"] else "0"
  else:
    text = str(method["finished"])
  return text + (f" ({method['failed']} failed)" if method["failed"] else "")


def _seed_list(seeds: list) -> str:
  return ", ".join(str(seed) for seed in seeds)


def _cell(method: dict, metric: str, bold: bool) -> str:
  stats = method["test"][metric]
  if stats["mean"] is None:
    return "–"
  text = f"{stats['mean']:.4f}"
  if stats["std"] is not None:  # one value (a closed-form fit, one seed): no spread to show
    text += f" ± {stats['std']:.4f}"
  return f"**{text}**" if bold else text


def _versus(summary: dict, method: dict) -> list[str]:
  if method["name"] == summary["reference"]:
    return ["reference", "", ""]
  test = method["vs_reference"].get(summary["selection"])
  if not test:
    return ["–", "–", "–"]
  users, seeds = test["users"], test["seeds"]
  difference = users["mean_difference"]
  return ["–" if difference is None else f"{difference:+.4f}",
          f"{_p(users['t_pvalue'])} / {_p(users['wilcoxon_pvalue'])} (n={users['n']})",
          f"{_p(seeds['t_pvalue'])} (n={seeds['n']})"]


def markdown(summary: dict, context: dict) -> str:
  """The comparison table and how to read it."""
  metrics, selection = summary["metrics"], summary["selection"]
  reference = summary["methods"].get(summary["reference"], {}).get("label", "–")
  header = (["method", "seeds"] + metrics
            + [f"Δ {selection} vs {reference}", "p users (t / Wilcoxon)", "p seeds (t)",
               "train s / seed", "wall s (total)"])
  lines = [f"# Comparison: {context['dataset']}, {context['protocol']}", "",
           f"Test metrics, mean ± std over training seeds {_seed_list(context['seeds'])} on "
           f"one split (`--split_seed={context['split_seed']}`); a method fitted once (closed "
           "form) or with one finished seed shows its one value. The best of each column in bold. "
           "Every run chose its epoch (EASE its L2 weight) on validation users.", "",
           f"Δ and p: the row minus the reference, {reference} ({summary['reference_rule']}), "
           f"on {selection}: paired t-test and Wilcoxon signed-rank test over test users "
           "(user x seed pairs pooled over the common seeds; a closed-form method's one fit "
           "is paired with every seed), and a paired t-test over the per-seed means. "
           "Baselines: " + ", ".join(m["label"] for m in summary["methods"].values()
                                     if m["role"] == "baseline") + "; methods: "
           + (", ".join(m["label"] for m in summary["methods"].values()
                        if m["role"] == "method") or "none") + ".", "",
           "Train s: the runs' training seconds (timing.train_seconds), mean per seed; wall s: "
           "whole runs (start-up, data, evaluation) summed over seeds, as measured when they "
           "ran.", "",
           "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for name in summary["order"]:
    method = summary["methods"][name]
    row = [method["label"], _seeds(method)]
    row += [_cell(method, metric, name in summary["best"].get(metric, ())) for metric in metrics]
    row += _versus(summary, method)
    row += [_seconds(method["timing"]["train_seconds_mean"]),
            _seconds(method["timing"]["wall_seconds_total"])]
    lines.append("| " + " | ".join(row) + " |")
  failed = [(m["label"], key, cell["error"]) for m in summary["methods"].values()
            for key, cell in m["cells"].items() if cell["status"] == "failed"]
  if failed:
    lines += ["", "Failed runs (rerun the comparison to retry them):", ""]
    lines += [f"* {label} {key}: {error}" for label, key, error in failed]
  stale = [(m["label"], key) for m in summary["methods"].values()
           for key, cell in m["cells"].items() if cell["stale"]]
  if stale:
    names = sorted({m["name"] for m in summary["methods"].values()
                    if any(cell["stale"] for cell in m["cells"].values())})
    lines += ["", "Reused runs made by a different command (`--rerun=" + ",".join(names)
              + "` replaces them): " + ", ".join(f"{label} {key}" for label, key in stale) + "."]
  other = [(m["label"], key) for m in summary["methods"].values()
           for key in m.get("other_split", ())]
  if other:
    lines += ["", f"Not paired with {reference} (made on a different split, see "
              f"`{JSON}`): " + ", ".join(f"{label} {key}" for label, key in other) + "."]
  lines += ["", "Learning curves (validation metric and training loss, mean ± std over "
            "seeds): " + ", ".join(f"`curves_{metric}.png`" for metric in metrics)
            + f"; test metrics with their spread over seeds: `{BARS}`; every run's command "
            f"and values: `{JSON}`."]
  return "\n".join(lines) + "\n"


def rows(summary: dict) -> list[dict]:
  """One flat dict per method (the CSV)."""
  selection, table = summary["selection"], []
  for name in summary["order"]:
    method = summary["methods"][name]
    row = {"method": name, "label": method["label"], "role": method["role"],
           "closed_form": method["closed_form"], "finished": method["finished"],
           "failed": method["failed"]}
    for metric in summary["metrics"]:
      row[f"test_{metric}_mean"] = method["test"][metric]["mean"]
      row[f"test_{metric}_std"] = method["test"][metric]["std"]
      row[f"test_{metric}_best"] = name in summary["best"].get(metric, ())
    row[f"valid_{selection}_mean"] = method["valid"][selection]["mean"]
    test = method["vs_reference"].get(selection) or {}
    users, seeds = test.get("users", {}), test.get("seeds", {})
    row.update({"reference": summary["reference"],
                f"delta_{selection}": users.get("mean_difference"),
                "p_users_t": users.get("t_pvalue"),
                "p_users_wilcoxon": users.get("wilcoxon_pvalue"),
                "n_user_pairs": users.get("n"), "p_seeds_t": seeds.get("t_pvalue"),
                "n_seeds": seeds.get("n")})
    row.update(method["timing"])
    table.append(row)
  return table


def _csv(summary: dict) -> str:
  table = rows(summary)
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=list(table[0]) if table else ["method"],
                          lineterminator="\n")
  writer.writeheader()
  for row in table:
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
  return buffer.getvalue()


def public(summary: dict, context: dict) -> dict:
  """The JSON document: the summary without per-user arrays and histories, plus the context."""
  methods = {name: {k: v for k, v in method.items() if k not in ("runs", "splits", "histories")}
             for name, method in summary["methods"].items()}
  return {**context, **{k: v for k, v in summary.items() if k != "methods"},
          "methods": methods}


def write_reports(summary: dict, context: dict, output_dir: str) -> list[str]:
  """Writes the three files into `output_dir`; returns their paths."""
  paths = [os.path.join(output_dir, name) for name in (MARKDOWN, CSV, JSON)]
  write_atomic(paths[0], markdown(summary, context).encode())
  write_atomic(paths[1], _csv(summary).encode())
  write_json(paths[2], public(summary, context))
  return paths
