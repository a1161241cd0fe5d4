"""Paired significance tests: two methods on the same users, or on the same seeds.

Results are plain dicts of Python numbers (None where a value is undefined, e.g.
a p-value from fewer than two pairs), ready for `json.dumps`.
"""

from typing import Mapping, Optional, Sequence

import numpy as np
from scipy import stats


def _number(value) -> Optional[float]:
  value = float(value)
  return value if np.isfinite(value) else None


def paired_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
  """Paired t-test and Wilcoxon signed-rank test of the difference b - a.

  `a` and `b` are per-user (or per-seed) values of two methods on the same
  units; pairs with a NaN on either side are dropped (users without targets).

  Returns:
    {"n", "dropped", "mean_a", "mean_b", "mean_difference", "confidence",
    "ci_low", "ci_high" (t interval of the mean difference), "t_statistic",
    "t_pvalue", "wilcoxon_pvalue"}. Identical samples give p = 1 and a
    zero-width interval.

  Example:
    >>> from tfrankcf.metrics.significance import paired_test
    >>> result = paired_test([0.2, 0.3, 0.4, float("nan")], [0.2, 0.3, 0.4, 0.5])
    >>> result["n"], result["dropped"], result["t_pvalue"], result["ci_low"]
    (3, 1, 1.0, 0.0)
    >>> result = paired_test([0.1, 0.2, 0.3, 0.4], [0.2, 0.4, 0.3, 0.6])
    >>> round(result["mean_difference"], 4), round(result["t_pvalue"], 4)  # t = 2.61, 3 df
    (0.125, 0.0796)
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if a.shape != b.shape or a.ndim != 1:
    raise ValueError(f"paired samples must be equal 1-D arrays: {a.shape} vs {b.shape}")
  keep = ~(np.isnan(a) | np.isnan(b))
  a, b = a[keep], b[keep]
  difference = b - a
  n = len(difference)
  result = {"n": n, "dropped": int(np.sum(~keep)), "confidence": confidence,
            "mean_a": _number(np.mean(a)) if n else None,
            "mean_b": _number(np.mean(b)) if n else None,
            "mean_difference": _number(np.mean(difference)) if n else None,
            "ci_low": None, "ci_high": None, "t_statistic": None, "t_pvalue": None,
            "wilcoxon_pvalue": None}
  if n and not np.any(difference):
    result.update(ci_low=0.0, ci_high=0.0, t_statistic=0.0, t_pvalue=1.0,
                  wilcoxon_pvalue=1.0)
  elif n >= 2:
    t_test = stats.ttest_rel(b, a)
    interval = t_test.confidence_interval(confidence_level=confidence)
    result.update(ci_low=_number(interval.low), ci_high=_number(interval.high),
                  t_statistic=_number(t_test.statistic), t_pvalue=_number(t_test.pvalue),
                  wilcoxon_pvalue=_number(stats.wilcoxon(difference).pvalue))
  return result


def paired_over_seeds(a: Mapping, b: Mapping,
                      confidence: float = 0.95) -> dict:
  """`paired_test` of two {seed: value} maps over their common seeds (listed in "seeds").

  Seeds are the maps' keys: ints, or strings as read back from JSON.

  Example:
    >>> from tfrankcf.metrics.significance import paired_over_seeds
    >>> result = paired_over_seeds({1: 0.30, 2: 0.32, 3: 0.31},
    ...                            {1: 0.33, 2: 0.35, 3: 0.36, 4: 0.90})
    >>> result["seeds"], round(result["mean_difference"], 4)
    ([1, 2, 3], 0.0367)
  """
  seeds = sorted(set(a) & set(b))
  result = paired_test([a[s] for s in seeds], [b[s] for s in seeds], confidence)
  result["seeds"] = list(seeds)
  return result
