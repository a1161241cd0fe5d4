"""The closed-form baselines as methods: ItemPop and EASE (its L2 weight chosen on validation).

Their specs `fit` instead of training for epochs: one deterministic fit on the
split (`compare` pairs it with every training seed). EASE's fit sweeps
`l2_grid` on the validation users unless its config already names the L2
weight (`l2`, which the sweep records in results.json): refitting a recorded
run (export) is then one exact fit.
"""

import dataclasses
from typing import Literal

from tfrankcf.baselines import EASE, ItemPop
from tfrankcf.baselines.ease import select_l2
from tfrankcf.methods.spec import MethodSpec

EASE_L2_GRID = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


@dataclasses.dataclass(frozen=True)
class ItemPopConfig:
  """ItemPop has no settings: every user gets the most popular training items."""


@dataclasses.dataclass(frozen=True)
class EASEConfig:
  """EASE settings.

  Attributes:
    l2_grid: EASE: L2 weights to choose from on validation users.
    dtype: EASE: precision of the Gram matrix and its inverse (float32 fits MSD's 41K
      items in 16 GB; float64 for small catalogues where the last digits matter).
    l2: the L2 weight the sweep selected (recorded by the fit; None: sweep `l2_grid`).
  """

  l2_grid: tuple[float, ...] = dataclasses.field(
      default=EASE_L2_GRID, metadata={"flag": "ease_l2_grid", "lower_bound": 0})
  dtype: Literal["float32", "float64"] = dataclasses.field(
      default="float32", metadata={"flag": "ease_dtype"})
  l2: float | None = dataclasses.field(default=None, metadata={"flag": False, "recorded": True})


def fit_itempop(split, run_config, validate, reporting):
  """ItemPop on the training matrix (nothing to select)."""
  del run_config, validate, reporting
  return ItemPop().fit(split.train), ItemPopConfig(), []


def fit_ease(split, run_config, validate, reporting):
  """EASE with the recorded L2 weight, else the best of `l2_grid` on validation users."""
  config = run_config.method_config
  if config.l2 is not None:
    return EASE(config.l2, dtype=config.dtype).fit(split.train), config, []
  # One Gram and one working matrix for the whole sweep (see baselines/ease.py).
  model, selection = select_l2(split.train, config.l2_grid, validate,
                               key=reporting.selection, dtype=config.dtype)
  return model, dataclasses.replace(config, l2=model.l2), selection


def selected_l2(config) -> str:
  """What EASE's sweep selected, for the run's summary line."""
  return f"L2 {config.l2:g}"


SPECS = (
    MethodSpec(name="itempop", label="ItemPop", config=ItemPopConfig, fit=fit_itempop,
               binary="train_baseline", selected_by={"itempop": {}}),
    MethodSpec(name="ease", label="EASE", config=EASEConfig, fit=fit_ease,
               binary="train_baseline", selected_by={"ease": {}}, selected=selected_l2),
)
