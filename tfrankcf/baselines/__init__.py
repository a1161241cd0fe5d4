"""Baselines without gradient training: ItemPop and EASE."""

from tfrankcf.baselines.ease import EASE
from tfrankcf.baselines.itempop import ItemPop

__all__ = ["EASE", "ItemPop"]
