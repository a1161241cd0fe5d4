"""Tests of the learning curves' averaging."""

import pytest

from tfrankcf.comparison.curves import mean_curve


def test_mean_over_seeds_at_common_epochs():
  short = [{"epoch": 1, "valid": {"ndcg@10": 0.1}}, {"epoch": 2, "loss": 1.0},
           {"epoch": 3, "valid": {"ndcg@10": 0.3}}]
  long = [{"epoch": e, "valid": {"ndcg@10": 0.1 * e + 0.1}} for e in (1, 3, 5)]
  epochs, values = mean_curve([short, long], "ndcg@10")
  assert epochs == [1, 3] and values == pytest.approx([0.15, 0.35])
  assert mean_curve([[], [{"epoch": 1, "loss": 1.0}]], "ndcg@10") == ([], [])
