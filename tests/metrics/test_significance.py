"""Tests of the paired significance tests."""

import json

import numpy as np
import pytest
from scipy import stats

from tfrankcf.metrics import paired_over_seeds, paired_test


def test_matches_scipy_and_drops_nan_pairs():
  rng = np.random.default_rng(0)
  a = rng.random(100)
  b = a + 0.05 + 0.1 * rng.normal(size=100)
  result = paired_test(np.append(a, [np.nan, 0.2]), np.append(b, [0.3, np.nan]))
  assert result["n"] == 100 and result["dropped"] == 2
  t_test = stats.ttest_rel(b, a)
  assert result["t_statistic"] == pytest.approx(t_test.statistic, abs=1e-12)
  assert result["t_pvalue"] == pytest.approx(t_test.pvalue, abs=1e-12)
  assert result["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(b - a).pvalue, abs=1e-12)
  assert result["mean_difference"] == pytest.approx(np.mean(b - a), abs=1e-12)
  half_width = stats.sem(b - a) * stats.t.ppf(0.975, 99)
  assert result["ci_low"] == pytest.approx(np.mean(b - a) - half_width, abs=1e-12)
  assert result["ci_high"] == pytest.approx(np.mean(b - a) + half_width, abs=1e-12)
  json.dumps(result, allow_nan=False)


def test_identical_samples_do_not_crash():
  a = np.array([0.1, 0.5, 0.3, np.nan])
  result = paired_test(a, a.copy())
  assert result["n"] == 3
  assert result["t_pvalue"] == 1.0 and result["wilcoxon_pvalue"] == 1.0
  assert result["mean_difference"] == 0.0 and result["ci_low"] == result["ci_high"] == 0.0
  json.dumps(result, allow_nan=False)


def test_too_few_pairs_give_undefined_tests():
  result = paired_test([0.1, np.nan], [0.3, 0.2])
  assert result["n"] == 1 and result["mean_difference"] == pytest.approx(0.2, abs=1e-12)
  assert result["t_pvalue"] is None and result["ci_low"] is None
  json.dumps(result, allow_nan=False)
  with pytest.raises(ValueError, match="equal 1-D"):
    paired_test([0.1, 0.2], [0.1])


def test_over_seeds_pairs_common_seeds():
  result = paired_over_seeds({0: 0.30, 1: 0.32, 2: 0.31, 3: 0.5},
                             {0: 0.35, 1: 0.36, 2: 0.37})
  assert result["seeds"] == [0, 1, 2] and result["n"] == 3
  assert result["mean_difference"] == pytest.approx(0.05, abs=1e-12)
  assert result["t_pvalue"] == pytest.approx(
      stats.ttest_rel([0.35, 0.36, 0.37], [0.30, 0.32, 0.31]).pvalue, abs=1e-12)
