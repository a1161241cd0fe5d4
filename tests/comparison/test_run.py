"""`run_comparison` on fake runs: the table, CSV, JSON, curves, failures and resuming."""

import csv
import json
import os
import shutil
import subprocess
import zlib

import numpy as np
import pytest
from scipy import stats

from tfrankcf.comparison import Settings, run_comparison
from tfrankcf.comparison import cells as cells_module
from tfrankcf.comparison.cells import Outcome
from tfrankcf.errors import InputError

LEVELS = {"itempop": 0.2, "logloss": 0.35, "listmle": 0.33, "guidedrec": 0.40}
USERS = 50
PERMUTATION = np.random.default_rng(7).permutation(USERS)


class Fakes:
  """Deterministic per-user values per (method, run) and a runner that writes them."""

  def __init__(self, per_user_values, write_fake_run):
    self.per_user_values, self.write_fake_run = per_user_values, write_fake_run

  def values(self, method, key):
    return self.per_user_values(LEVELS[method], seed=zlib.crc32(f"{method}{key}".encode()),
                                users=USERS)

  def runner(self, cell):
    """Writes the cell's fake run instead of training; EASE fails."""
    method = cell.method.name
    if method == "ease":
      return Outcome(cell, "failed", wall_seconds=1.0, error="error: ease exploded")
    values = self.values(method, cell.key)
    user_index = None
    if method == "guidedrec" and cell.key == "s1":  # users stored in another order
      values = {metric: v[PERMUTATION] for metric, v in values.items()}
      user_index = PERMUTATION
    self.write_fake_run(cell.output_dir, method, cell.seed, values, user_index=user_index,
                        epochs=0 if cell.method.closed_form else 10,
                        train_seconds=3.0 if cell.method.closed_form else 20.0 + cell.seed)
    return Outcome(cell, "ran", wall_seconds=30.0 + cell.seed)


@pytest.fixture(name="fakes", scope="module")
def fixture_fakes(per_user_values, write_fake_run):
  return Fakes(per_user_values, write_fake_run)


@pytest.fixture(name="compared", scope="module")
def fixture_compared(tmp_path_factory, per_user_values, write_fake_run):
  tmp_path = tmp_path_factory.mktemp("compare")
  fakes = Fakes(per_user_values, write_fake_run)
  settings = Settings(dataset="ml100k", protocol="loo_sampled", output_dir=str(tmp_path))
  lines = []
  outcome = run_comparison(["itempop", "ease", "logloss", "listmle", "guidedrec"], [0, 1],
                           settings, runner=fakes.runner,
                           printer=lambda *a, **k: lines.append(" ".join(map(str, a))))
  return tmp_path, outcome, lines


def test_markdown_table(compared, fakes):
  tmp_path, outcome, lines = compared
  assert outcome["failed"] == 1
  text = (tmp_path / "comparison.md").read_text()
  cells = [[cell.strip() for cell in line.strip("|").split("|")]
           for line in text.splitlines() if line.startswith("| ")]
  header, rows = cells[0], {row[0]: row for row in cells[1:]}
  assert list(rows) == ["ItemPop", "EASE", "log loss", "ListMLE", "GuidedRec"]
  versus = header.index("Δ ndcg@10 vs log loss")  # the best baseline, not GuidedRec
  ndcg10 = header.index("ndcg@10")
  means = [np.mean(fakes.values("guidedrec", key)["ndcg@10"]) for key in ("s0", "s1")]
  assert rows["GuidedRec"][ndcg10] == (
      f"**{np.mean(means):.4f} ± {np.std(means, ddof=1):.4f}**")
  assert not rows["log loss"][ndcg10].startswith("**")
  assert rows["EASE"][1] == "0 (1 failed)" and rows["EASE"][ndcg10] == "–"
  assert rows["ItemPop"][1] == "1 fit" and rows["log loss"][1] == "2"
  # A single fit has no spread: its value alone, not "± 0.0000".
  pop = np.mean(fakes.values("itempop", "fit")["ndcg@10"])
  assert rows["ItemPop"][ndcg10] == f"{pop:.4f}" and "±" not in "".join(rows["ItemPop"])
  assert rows["log loss"][versus] == "reference"
  difference = np.mean(fakes.values("guidedrec", "s0")["ndcg@10"]
                       - fakes.values("logloss", "s0")["ndcg@10"])
  assert rows["GuidedRec"][versus].startswith("+0.0") and difference > 0
  assert rows["GuidedRec"][versus + 1].endswith("(n=100)")
  assert "* EASE fit: error: ease exploded" in text
  assert any("FAILED" not in line and "guidedrec s1: done" in line for line in lines)


def test_paired_tests_pool_users_over_seeds(compared, fakes):
  tmp_path, _, _ = compared
  with open(tmp_path / "comparison.json") as f:
    document = json.load(f)
  assert document["reference"] == "logloss" and document["selection"] == "ndcg@10"
  versus = document["methods"]["guidedrec"]["vs_reference"]["ndcg@10"]
  ours = np.concatenate([fakes.values("guidedrec", k)["ndcg@10"] for k in ("s0", "s1")])
  ref = np.concatenate([fakes.values("logloss", k)["ndcg@10"] for k in ("s0", "s1")])
  assert versus["users"]["n"] == 2 * USERS
  assert versus["users"]["mean_difference"] == pytest.approx(np.mean(ours - ref), abs=1e-12)
  # p ~ 1e-10: an absolute term far below it (float64 on both sides)
  assert versus["users"]["t_pvalue"] == pytest.approx(stats.ttest_rel(ours, ref).pvalue,
                                                      abs=1e-16)
  assert versus["users"]["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(ours - ref).pvalue,
                                                             abs=1e-16)
  seed_means = [(np.mean(fakes.values("guidedrec", k)["ndcg@10"]),
                 np.mean(fakes.values("logloss", k)["ndcg@10"])) for k in ("s0", "s1")]
  assert versus["seeds"]["t_pvalue"] == pytest.approx(
      stats.ttest_rel(*zip(*seed_means)).pvalue, abs=1e-12)
  # ItemPop's one fit is paired with each of log loss's seeds.
  pop = document["methods"]["itempop"]["vs_reference"]["ndcg@10"]
  assert pop["pairs"] == [["s0", "fit"], ["s1", "fit"]] and pop["users"]["n"] == 2 * USERS
  assert document["methods"]["logloss"]["vs_reference"] == {}
  cell = document["methods"]["listmle"]["cells"]["s1"]
  assert cell["seed"] == 1 and cell["status"] == "ran" and "--seed=1" in cell["command"]
  assert document["methods"]["listmle"]["test"]["hr@10"]["values"]["s1"] == pytest.approx(
      np.mean(fakes.values("listmle", "s1")["hr@10"]), abs=1e-12)
  assert document["methods"]["listmle"]["timing"] == {
      "train_seconds_mean": 20.5, "train_seconds_total": 41.0, "wall_seconds_total": 61.0}
  assert document["ran"] == 7 and document["failed"] == 1 and document["cached"] == 0


def test_csv(compared):
  tmp_path, _, _ = compared
  with open(tmp_path / "comparison.csv") as f:
    table = {row["method"]: row for row in csv.DictReader(f)}
  assert list(table) == ["itempop", "ease", "logloss", "listmle", "guidedrec"]
  assert table["guidedrec"]["test_ndcg@10_best"] == "True"
  assert table["ease"]["test_ndcg@10_mean"] == "" and table["ease"]["failed"] == "1"
  assert float(table["guidedrec"]["p_users_t"]) < 0.05
  assert table["guidedrec"]["reference"] == "logloss" and table["guidedrec"]["role"] == "method"


def test_curves_and_bars_are_pngs(compared):
  tmp_path, outcome, _ = compared
  for name in [f"curves_{metric}.png" for metric in
               ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20")] + ["test_metrics.png"]:
    with open(tmp_path / name, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert str(tmp_path / name) in outcome["paths"]
  assert "`test_metrics.png`" in (tmp_path / "comparison.md").read_text()


def test_second_run_recomputes_nothing_but_the_failed_cell(compared, monkeypatch, tmp_path):
  shutil.copytree(compared[0], tmp_path, dirs_exist_ok=True)
  calls = []

  def fake_subprocess(argv, stdout, stderr, **kwargs):
    del stdout, kwargs
    calls.append(argv)
    stderr.write("Traceback\nerror: ease exploded again\n")
    return subprocess.CompletedProcess(argv, 2)

  monkeypatch.setattr(cells_module.subprocess, "run", fake_subprocess)
  mtimes = {path: os.path.getmtime(path) for path in tmp_path.glob("runs/*/*/results.json")}
  settings = Settings(dataset="ml100k", protocol="loo_sampled", output_dir=str(tmp_path))
  outcome = run_comparison(["itempop", "ease", "logloss", "listmle", "guidedrec"], [0, 1],
                           settings, printer=lambda *a, **k: None)
  assert [argv[2] for argv in calls] == ["tfrankcf.binaries.train_baseline"]
  assert "--method=ease" in calls[0]
  assert {path: os.path.getmtime(path) for path in mtimes} == mtimes and len(mtimes) == 7
  statuses = [o.status for o in outcome["outcomes"]]
  assert statuses == ["cached", "failed"] + ["cached"] * 6
  assert outcome["outcomes"][1].error == "error: ease exploded again"
  with open(tmp_path / "comparison.json") as f:
    document = json.load(f)
  assert document["cached"] == 7 and document["ran"] == 0
  # Wall times of cached cells are those recorded when they ran (none for fake ones).
  assert "error: ease exploded again" in (tmp_path / "comparison.md").read_text()


def _recompare(tmp_path, fakes, **kwargs):
  """The comparison again, with a runner that reuses finished cells as run_cell does."""
  calls, lines = [], []

  def runner(cell):
    if os.path.exists(os.path.join(cell.output_dir, "results.json")):
      return Outcome(cell, "cached")
    calls.append((cell.method.name, cell.key))
    return fakes.runner(cell)

  settings = Settings(dataset="ml100k", protocol="loo_sampled", output_dir=str(tmp_path))
  outcome = run_comparison(["itempop", "ease", "logloss", "listmle", "guidedrec"], [0, 1],
                           settings, runner=runner, printer=lambda *a, **k: lines.append(a[0]),
                           **kwargs)
  return outcome, calls, lines


def test_rerun_replaces_one_methods_runs_and_reuses_the_others(compared, fakes, tmp_path,
                                                                no_plots):
  shutil.copytree(compared[0], tmp_path, dirs_exist_ok=True)
  marker = tmp_path / "runs" / "listmle" / "s0" / "old.txt"
  marker.write_text("from the earlier run")
  before = (tmp_path / "runs" / "logloss" / "s0" / "results.json").stat().st_mtime_ns
  outcome, calls, lines = _recompare(tmp_path, fakes, rerun=["listmle"])
  assert calls == [("ease", "fit"), ("listmle", "s0"), ("listmle", "s1")]  # EASE had failed
  statuses = {(o.cell.method.name, o.cell.key): o.status for o in outcome["outcomes"]}
  assert statuses[("listmle", "s0")] == "ran" and statuses[("logloss", "s0")] == "cached"
  assert not marker.exists()  # the directory was replaced, not resumed
  assert (tmp_path / "runs" / "logloss" / "s0" / "results.json").stat().st_mtime_ns == before
  assert any("listmle s1: removed the earlier run, running afresh" in line for line in lines)
  assert "2 to run afresh" in lines[0]


def test_force_replaces_every_run(compared, fakes, tmp_path, no_plots):
  shutil.copytree(compared[0], tmp_path, dirs_exist_ok=True)
  outcome, calls, _ = _recompare(tmp_path, fakes, force=True)
  assert len(calls) == 8 and {o.status for o in outcome["outcomes"]} == {"ran", "failed"}


def test_rerun_of_a_method_not_compared_runs_nothing(compared, fakes, tmp_path):
  shutil.copytree(compared[0], tmp_path, dirs_exist_ok=True)
  with pytest.raises(InputError, match="--rerun names ract, not in --methods"):
    _recompare(tmp_path, fakes, rerun=["listmle", "ract"])
  assert (tmp_path / "runs" / "listmle" / "s0" / "results.json").exists()


def test_unknown_method_runs_nothing(tmp_path, fakes):
  with pytest.raises(InputError, match="unknown method 'graphrec'"):
    run_comparison(["ease", "graphrec"], [0], Settings("ml100k", "loo_sampled", str(tmp_path)),
                   runner=fakes.runner)
  assert not os.listdir(tmp_path)


def test_says_which_flagfile_each_method_got(tmp_path, write_fake_run, per_user_values,
                                             no_plots):
  configs = tmp_path / "configs"
  configs.mkdir()
  (configs / "ract_ml1m-strong.cfg").write_text("--dataset=ml1m\n--protocol=strong\n")
  ratings = str(tmp_path / "ml-1m" / "ratings.dat")

  def runner(cell):
    write_fake_run(cell.output_dir, cell.method.name, cell.seed, per_user_values(0.3, 0))
    return Outcome(cell, "ran", wall_seconds=1.0)

  lines = []
  settings = Settings(dataset=ratings, protocol="strong", output_dir=str(tmp_path / "out"),
                      configs_dir=str(configs))
  outcome = run_comparison(["itempop", "vae", "ract"], [0], settings, runner=runner,
                           printer=lambda *a, **k: lines.append(a[0]))
  flagfile = os.path.relpath(configs / "ract_ml1m-strong.cfg")
  assert lines[1:4] == [
      "  itempop: no flagfile (no flagfile family: the registry's flags only)",
      f"  vae: no flagfile (no vae-losses_*.cfg in {configs})",
      f"  ract: {flagfile} (sets --dataset=ml1m --protocol=strong; --dataset={ratings} is "
      "ml1m's release file ratings.dat, given after it)"]
  with open(tmp_path / "out" / "comparison.json") as f:
    document = json.load(f)
  assert document["flagfile_notes"]["vae"] == f"no vae-losses_*.cfg in {configs}"
  assert outcome["outcomes"][2].cell.flagfile == str(configs / "ract_ml1m-strong.cfg")
