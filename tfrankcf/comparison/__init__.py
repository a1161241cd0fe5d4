"""Comparisons of many methods over seeds on one split: runs, tables, tests and curves."""

from tfrankcf.comparison.commands import Settings
from tfrankcf.comparison.registry import METHODS, ComparedMethod, get_methods
from tfrankcf.comparison.run import run_comparison

__all__ = ["METHODS", "ComparedMethod", "Settings", "get_methods", "run_comparison"]
