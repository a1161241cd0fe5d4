"""`run_comparison`: the library call behind `compare`, from method names to reports.

Plan every (method, seed) cell, run the unfinished ones (and afresh those of
the methods to rerun), then summarise all finished cells into
comparison.md/.csv/.json, the learning curves and the test-metric bars.
Reports are written even when some cells failed (the failures are listed in
them).
"""

import os
import time

from tfrankcf.comparison.aggregate import summarize
from tfrankcf.comparison.cells import run_cell, run_cells
from tfrankcf.comparison.commands import Settings, plan_cells
from tfrankcf.comparison.curves import plot_curves, plot_test_bars
from tfrankcf.comparison.registry import get_methods
from tfrankcf.comparison.report import markdown, write_reports
from tfrankcf.errors import InputError


def run_comparison(names: list, seeds: list, settings: Settings, runner=run_cell,
                   printer=print, argv: list | None = None, jobs: int = 1,
                   rerun=(), force: bool = False) -> dict:
  """Runs the comparison; returns {"summary", "outcomes", "paths", "failed"}.

  Args:
    names: `--methods` (registry names); checked before anything runs.
    seeds: training seeds; every cell uses `settings.split_seed` for the split.
    settings: what every cell shares (`commands.Settings`).
    runner: cell -> `cells.Outcome` (tests replace the subprocess).
    printer: progress lines.
    argv: compare's own command line, recorded in comparison.json.
    jobs: runs at a time (wall times then include sharing the machine).
    rerun: `--rerun`, methods whose runs are replaced (run afresh) rather than reused.
    force: `--force`, replace every run.
  """
  if not seeds:
    raise InputError("--seeds must be at least 1")
  specs = get_methods(names, settings.protocol)
  rerun = [name.strip() for name in rerun if name.strip()]
  unknown = [name for name in rerun if name not in {spec.name for spec in specs}]
  if unknown:
    raise InputError(f"--rerun names {', '.join(unknown)}, not in --methods")
  cells = plan_cells(specs, list(seeds), settings)
  flagfiles = {cell.method.name: cell.flagfile for cell in cells}
  notes = {cell.method.name: cell.flagfile_note for cell in cells}
  replace = {cell.output_dir for cell in cells if force or cell.method.name in rerun}
  printer(f"compare: {len(specs)} methods, seeds {list(seeds)}, split seed "
          f"{settings.split_seed}: {len(cells)} runs under {settings.output_dir}"
          + (f", {len(replace)} to run afresh" if replace else ""), flush=True)
  for name, flagfile in flagfiles.items():
    shown = os.path.relpath(flagfile) if flagfile else "no flagfile"
    printer(f"  {name}: {shown} ({notes[name]})", flush=True)
  start = time.perf_counter()
  outcomes = run_cells(cells, runner=runner, printer=printer, jobs=jobs, replace=replace)
  summary = summarize(outcomes, settings.protocol)
  context = {"dataset": settings.dataset, "protocol": settings.protocol,
             "seeds": list(seeds), "split_seed": settings.split_seed,
             "argv": list(argv or []), "jobs": jobs, "flagfiles": flagfiles,
             "flagfile_notes": notes, "rerun": sorted(set(rerun)), "force": force,
             "ran": sum(o.status == "ran" for o in outcomes),
             "cached": sum(o.status == "cached" for o in outcomes),
             "failed": sum(o.status == "failed" for o in outcomes),
             "seconds_this_invocation": time.perf_counter() - start}
  paths = write_reports(summary, context, settings.output_dir)
  title = f"{settings.dataset}, {settings.protocol}"
  paths += plot_curves(summary, settings.output_dir, f"{title}: validation curves")
  paths.append(plot_test_bars(summary, settings.output_dir, f"{title}: test metrics"))
  printer(markdown(summary, context), flush=True)
  printer(f"{context['ran']} ran, {context['cached']} cached, {context['failed']} failed; "
          f"wrote {', '.join(os.path.basename(p) for p in paths)} to {settings.output_dir}",
          flush=True)
  return {"summary": summary, "outcomes": outcomes, "paths": paths,
          "failed": context["failed"]}
