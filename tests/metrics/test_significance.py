"""Tests of the paired significance tests."""

import numpy as np
import pytest
from scipy import stats

from tfrankcf.metrics import paired_over_seeds, paired_test


def test_matches_scipy_and_drops_nan_pairs():
  rng = np.random.default_rng(0)
  a = rng.random(100)
  b = a + 0.05 + 0.1 * rng.normal(size=100)
  a_with_nan, b_with_nan = np.append(a, np.nan), np.append(b, 0.3)
  result = paired_test(a_with_nan, b_with_nan)
  assert result["n"] == 100
  assert result["t_pvalue"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
  assert result["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(b - a).pvalue)
  assert result["ci_low"] < result["mean_difference"] < result["ci_high"]
  assert result["mean_difference"] == pytest.approx(np.mean(b - a))


def test_identical_samples_do_not_crash():
  a = np.array([0.1, 0.5, 0.3])
  result = paired_test(a, a.copy())
  assert result["t_pvalue"] == 1.0 and result["wilcoxon_pvalue"] == 1.0
  assert result["mean_difference"] == 0.0


def test_over_seeds_pairs_common_seeds():
  result = paired_over_seeds({0: 0.30, 1: 0.32, 2: 0.31, 3: 0.5},
                             {0: 0.35, 1: 0.36, 2: 0.37})
  assert result["seeds"] == [0, 1, 2] and result["n"] == 3
  assert result["mean_difference"] == pytest.approx(0.05)
