"""Paired tests under `strong`: held-out users have no training row, so they pair by user key.

Every held-out user of a strong split has `user_index` -1; pairing on it kept one user
per seed. These comparisons check that the per-user n is users x common seeds and that
the t-test over users is scipy's on the pooled pairs, for runs that store `user_key`,
for older runs that do not, and for real ItemPop and EASE fits on ML-100K.
"""

import json
import zlib

import numpy as np
import pytest
from scipy import stats

from tfrankcf.comparison import Settings, run_comparison
from tfrankcf.comparison import run as run_module
from tfrankcf.comparison.cells import Outcome
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import run_closed_form

USERS = 94
METRICS = REPORTING["strong"].keys()
SELECTION = REPORTING["strong"].selection
LEVELS = {"itempop": 0.20, "ease": 0.30, "vae": 0.36, "dae": 0.33}
WITHOUT_TARGETS = np.arange(USERS) % 31 == 5  # held-out users with no target (NaN rows)
PERMUTATION = np.random.default_rng(3).permutation(USERS)
SPLIT = {"protocol": "strong", "seed": 0, "heldout_users": USERS, "cache_path": "/a"}


def _values(method: str, key: str) -> dict:
  """Per-user values in test-set row order: a shared per-user level plus run noise."""
  offsets = np.random.default_rng(0).uniform(-0.15, 0.15, size=USERS)
  rng = np.random.default_rng(zlib.crc32(f"{method}{key}".encode()))
  values = {}
  for i, metric in enumerate(METRICS):
    column = np.clip(LEVELS[method] + 0.01 * i + offsets + 0.05 * rng.normal(size=USERS), 0, 1)
    values[metric] = np.where(WITHOUT_TARGETS, np.nan, column)
  return values


def _runner(write_fake_run, keyed: bool, other_split: str | None = None):
  """Writes strong runs (user_index -1); DAE's s1 fails; VAE's s1 stores users permuted."""

  def runner(cell):
    method = cell.method.name
    if (method, cell.key) == ("dae", "s1"):
      return Outcome(cell, "failed", wall_seconds=1.0, error="error: dae s1 exploded")
    values, rows = _values(method, cell.key), np.arange(USERS)
    if keyed and (method, cell.key) == ("vae", "s1"):
      values = {metric: column[PERMUTATION] for metric, column in values.items()}
      rows = PERMUTATION
    split = dict(SPLIT, cache_path=f"/cache/{method}")  # where it was cached does not matter
    if method == other_split:
      split["heldout_users"] = USERS + 1
    write_fake_run(cell.output_dir, method, cell.seed, values,
                   user_index=np.full(USERS, -1), user_key=rows if keyed else None,
                   epochs=0 if cell.method.closed_form else 4, split=split)
    return Outcome(cell, "ran", wall_seconds=2.0)

  return runner


def _compare(tmp_path, write_fake_run, keyed=True, other_split=None, methods=None):
  settings = Settings(dataset="ml100k", protocol="strong", output_dir=str(tmp_path),
                      configs_dir="")
  run_comparison(methods or ["itempop", "ease", "vae", "dae"], [0, 1, 2], settings,
                 runner=_runner(write_fake_run, keyed, other_split),
                 printer=lambda *a, **k: None)
  with open(tmp_path / "comparison.json") as f:
    return json.load(f)


def _pooled(method: str, reference: str, pairs) -> tuple:
  ours = np.concatenate([_values(method, key)[SELECTION] for _, key in pairs])
  ref = np.concatenate([_values(reference, key)[SELECTION] for key, _ in pairs])
  keep = ~np.isnan(ours) & ~np.isnan(ref)
  return ours[keep], ref[keep]


@pytest.mark.parametrize("keyed", [True, False], ids=["user_key", "runs_without_user_key"])
def test_strong_pairs_every_user_of_every_common_seed(tmp_path, write_fake_run, keyed,
                                                       no_plots):
  document = _compare(tmp_path, write_fake_run, keyed=keyed)
  assert document["reference"] == "vae"  # the best baseline by mean test ndcg@100
  users = int(np.sum(~WITHOUT_TARGETS))
  dae = document["methods"]["dae"]["vs_reference"][SELECTION]
  assert dae["pairs"] == [["s0", "s0"], ["s2", "s2"]]  # DAE's s1 failed: two common seeds
  assert dae["users"]["n"] == users * 2 and dae["users"]["dropped"] == 2 * np.sum(
      WITHOUT_TARGETS)
  ours, ref = _pooled("dae", "vae", [("s0", "s0"), ("s2", "s2")])
  assert dae["users"]["t_pvalue"] == pytest.approx(stats.ttest_rel(ours, ref).pvalue,
                                                   rel=1e-9, abs=1e-300)
  assert dae["users"]["mean_difference"] == pytest.approx(np.mean(ours - ref), abs=1e-12)
  assert dae["users"]["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(ours - ref).pvalue,
                                                          rel=1e-9, abs=1e-300)
  # ItemPop's one fit pairs with each of the reference's three seeds.
  pop = document["methods"]["itempop"]["vs_reference"][SELECTION]
  assert pop["pairs"] == [["s0", "fit"], ["s1", "fit"], ["s2", "fit"]]
  assert pop["users"]["n"] == users * 3
  ours, ref = _pooled("itempop", "vae", [("s0", "fit"), ("s1", "fit"), ("s2", "fit")])
  # With keys, VAE's s1 stored its users permuted: pairing by key undoes it.
  assert pop["users"]["t_pvalue"] == pytest.approx(stats.ttest_rel(ours, ref).pvalue,
                                                   rel=1e-9, abs=1e-300)
  text = (tmp_path / "comparison.md").read_text()
  assert f"(n={users * 2})" in text and f"(n={users * 3})" in text


def test_runs_on_another_split_are_not_paired(tmp_path, write_fake_run, no_plots):
  document = _compare(tmp_path, write_fake_run, other_split="ease")
  ease = document["methods"]["ease"]
  assert ease["vs_reference"][SELECTION] is None and ease["other_split"] == ["fit"]
  assert document["methods"]["itempop"]["vs_reference"][SELECTION]["users"]["n"] > 0
  assert "Not paired with Mult-VAE (made on a different split" in (
      tmp_path / "comparison.md").read_text()


@pytest.fixture(name="ml100k_strong", scope="module")
def fixture_ml100k_strong(tmp_path_factory):
  """ItemPop and EASE fitted in-process on ML-100K under strong, compared."""
  tmp_path = tmp_path_factory.mktemp("strong")

  def runner(cell):
    config = RunConfig(method=cell.method.name, dataset="ml100k", protocol="strong",
                       seed=cell.seed, split_seed=0, output_dir=cell.output_dir,
                       data_dir=str(tmp_path / "cache"),
                       method_config={"l2_grid": [300.0]} if cell.method.name == "ease" else {})
    run_closed_form(config)
    return Outcome(cell, "ran", wall_seconds=1.0)

  settings = Settings(dataset="ml100k", protocol="strong", output_dir=str(tmp_path / "out"),
                      configs_dir="")
  with pytest.MonkeyPatch.context() as patch:  # no PNGs (tests/comparison/test_run.py has them)
    patch.setattr(run_module, "plot_curves", lambda *args: [])
    patch.setattr(run_module, "plot_test_bars", lambda *args: "test_metrics.png")
    outcome = run_comparison(["itempop", "ease"], [0], settings, runner=runner,
                             printer=lambda *a, **k: None)
  return tmp_path / "out", outcome


def test_real_strong_runs_store_a_user_key_and_pair_every_user(ml100k_strong):
  out, outcome = ml100k_strong
  arrays = {method: np.load(out / "runs" / method / "fit" / "per_user.npz")
            for method in ("itempop", "ease")}
  for per_user in arrays.values():
    assert np.all(per_user["test.user_index"] == -1)
    assert np.array_equal(per_user["test.user_key"], np.arange(len(per_user["test.user_key"])))
    assert np.array_equal(per_user["valid.user_key"],
                          np.arange(len(per_user["valid.user_key"])))
  summary = outcome["summary"]
  reference = summary["reference"]
  other = "itempop" if reference == "ease" else "ease"
  test = summary["methods"][other]["vs_reference"][SELECTION]
  ref, ours = arrays[reference][f"test.{SELECTION}"], arrays[other][f"test.{SELECTION}"]
  keep = ~np.isnan(ref) & ~np.isnan(ours)
  assert len(ref) > 50 and test["users"]["n"] == int(keep.sum()) > 50
  assert test["users"]["t_pvalue"] == pytest.approx(
      stats.ttest_rel(ours[keep], ref[keep]).pvalue, rel=1e-9, abs=1e-300)
