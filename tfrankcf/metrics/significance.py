"""Paired significance tests: two methods on the same users, or on the same seeds."""

import numpy as np
from scipy import stats


def paired_test(a, b, confidence: float = 0.95) -> dict:
  """Paired t-test and Wilcoxon signed-rank test of b - a (NaN pairs dropped).

  Returns JSON-ready numbers: n, the means, the mean difference with its
  confidence interval, and both p-values (1.0 when the samples are identical).
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if a.shape != b.shape:
    raise ValueError(f"paired samples differ in shape: {a.shape} vs {b.shape}")
  keep = ~(np.isnan(a) | np.isnan(b))
  a, b = a[keep], b[keep]
  diff = b - a
  n = len(diff)
  result = {"n": n, "mean_a": float(np.mean(a)) if n else float("nan"),
            "mean_b": float(np.mean(b)) if n else float("nan"),
            "mean_difference": float(np.mean(diff)) if n else float("nan")}
  if n < 2 or np.allclose(diff, diff[0] if n else 0.0):
    spread = 0.0 if n and np.allclose(diff, 0.0) else float("nan")
    result.update(ci_low=result["mean_difference"] - spread,
                  ci_high=result["mean_difference"] + spread,
                  t_pvalue=1.0 if spread == 0.0 else float("nan"),
                  wilcoxon_pvalue=1.0 if spread == 0.0 else float("nan"))
    return result
  standard_error = stats.sem(diff)
  half_width = standard_error * stats.t.ppf(0.5 + confidence / 2, n - 1)
  result.update(ci_low=float(np.mean(diff) - half_width),
                ci_high=float(np.mean(diff) + half_width),
                t_statistic=float(stats.ttest_rel(b, a).statistic),
                t_pvalue=float(stats.ttest_rel(b, a).pvalue))
  nonzero = diff[diff != 0]
  result["wilcoxon_pvalue"] = (float(stats.wilcoxon(nonzero).pvalue)
                               if len(nonzero) else 1.0)
  return result


def paired_over_seeds(scores_a: dict, scores_b: dict) -> dict:
  """`paired_test` of two {seed: value} maps over their common seeds."""
  seeds = sorted(set(scores_a) & set(scores_b))
  result = paired_test([scores_a[s] for s in seeds], [scores_b[s] for s in seeds])
  result["seeds"] = seeds
  return result
