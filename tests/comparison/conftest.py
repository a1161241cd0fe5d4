"""Fake run directories (results.json + per_user.npz) for comparison tests without training."""

import json
import os

import numpy as np
import pytest

from tfrankcf.comparison import run as run_module

LOO_METRICS = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20")


def _per_user_values(level: float, seed: int, users: int = 50) -> dict:
  """Per-user values of every loo_sampled metric around `level` (deterministic).

  Users differ (a shared per-user offset) much more than runs do (noise 0.05), as in real
  runs, so that paired tests see a level difference of 0.05 clearly.
  """
  offsets = np.random.default_rng(0).uniform(-0.2, 0.2, size=users)
  rng = np.random.default_rng(seed)
  return {metric: np.clip(level + 0.01 * i + offsets + 0.05 * rng.normal(size=users), 0, 1)
          for i, metric in enumerate(LOO_METRICS)}


def _write_fake_run(output_dir: str, method: str, seed: int, per_user: dict,
                   user_index=None, epochs: int = 0, train_seconds: float = 10.0,
                   user_key=None, split=None) -> dict:
  """A run directory as the binaries write it; test metrics are the per-user means.

  `user_key` is written when given (runs made before it existed have none); `split` is
  results.json's split record (none when None).
  """
  os.makedirs(output_dir, exist_ok=True)
  users = len(next(iter(per_user.values())))
  user_index = np.arange(users) if user_index is None else np.asarray(user_index)
  test = {metric: float(np.nanmean(values)) for metric, values in per_user.items()}
  valid = {metric: value - 0.01 for metric, value in test.items()}
  history = [{"epoch": e, "train_seconds": 1.0, "loss": 1.0 / e + 0.01 * seed,
              "valid": {m: v * e / epochs for m, v in valid.items()}}
             for e in range(1, epochs + 1)]
  results = {"method": method, "dataset": "ml100k", "protocol": "loo_sampled", "seed": seed,
             "config": {}, "metrics": {"valid": valid, "test": test}, "history": history,
             "best_epoch": epochs or None,
             "timing": {"train_seconds": train_seconds,
                        "seconds_per_epoch": train_seconds / max(epochs, 1)}}
  if split is not None:
    results["split"] = split
  arrays = {"test.user_index": user_index}
  if user_key is not None:
    arrays["test.user_key"] = np.asarray(user_key)
  arrays.update({f"test.{metric}": values for metric, values in per_user.items()})
  np.savez(os.path.join(output_dir, "per_user.npz"), **arrays)
  with open(os.path.join(output_dir, "results.json"), "w") as f:
    json.dump(results, f)
  return results


@pytest.fixture(name="per_user_values", scope="session")
def fixture_per_user_values():
  return _per_user_values


@pytest.fixture(name="write_fake_run", scope="session")
def fixture_write_fake_run():
  return _write_fake_run


@pytest.fixture(name="no_plots")
def fixture_no_plots(monkeypatch):
  """Skips the PNGs (seconds of matplotlib) in tests about which runs run and how they pair."""
  monkeypatch.setattr(run_module, "plot_curves", lambda *args: [])
  monkeypatch.setattr(run_module, "plot_test_bars", lambda *args: "test_metrics.png")
