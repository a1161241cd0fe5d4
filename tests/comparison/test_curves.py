"""Tests of the plots' helpers: averaging over seeds, the band, and integer epoch ticks."""

import numpy as np
import pytest

from tfrankcf.comparison.curves import epoch_ticks, mean_curve, seed_band


def test_mean_over_seeds_at_common_epochs():
  short = [{"epoch": 1, "valid": {"ndcg@10": 0.1}}, {"epoch": 2, "loss": 1.0},
           {"epoch": 3, "valid": {"ndcg@10": 0.3}}]
  long = [{"epoch": e, "valid": {"ndcg@10": 0.1 * e + 0.1}} for e in (1, 3, 5)]
  epochs, values = mean_curve([short, long], "ndcg@10")
  assert epochs == [1, 3] and values == pytest.approx([0.15, 0.35], abs=1e-12)
  assert mean_curve([[], [{"epoch": 1, "loss": 1.0}]], "ndcg@10") == ([], [])


def test_band_is_the_sample_std_over_seeds():
  histories = [[{"epoch": e, "loss": loss * e} for e in (1, 2)] for loss in (1.0, 2.0, 4.0)]
  epochs, means, stds = seed_band(histories, lambda entry: entry.get("loss"))
  assert epochs == [1, 2]
  assert means == pytest.approx([7 / 3, 14 / 3], abs=1e-12)
  assert stds == pytest.approx([np.std([1, 2, 4], ddof=1), np.std([2, 4, 8], ddof=1)], abs=1e-12)
  one = seed_band(histories[:1], lambda entry: entry.get("loss"))
  assert one == ([1, 2], [1.0, 2.0], [0.0, 0.0])  # one seed: no band
  nan = [[{"epoch": 1, "loss": float("nan")}, {"epoch": 2, "loss": 1.0}]]
  assert seed_band(nan, lambda entry: entry.get("loss"))[0] == [2]


@pytest.mark.parametrize("first,last,expected", [
    (1, 3, [1, 2, 3]),
    (1, 10, list(range(1, 11))),
    (1, 11, [2, 4, 6, 8, 10]),
    (1, 200, list(range(20, 201, 20))),
    (5, 440, list(range(50, 401, 50))),
    (7, 7, [7]),
    (3, 2, []),
])
def test_epoch_ticks_are_integers_at_round_steps(first, last, expected):
  ticks = epoch_ticks(first, last)
  assert ticks == expected
  assert all(isinstance(tick, int) for tick in ticks) and len(ticks) <= 10
