"""Flags generated from a config dataclass: type, default, help, bounds, and back."""

import dataclasses
from typing import Literal

from absl import flags
import pytest

from tfrankcf.errors import InputError
from tfrankcf.training import config_flags


@dataclasses.dataclass
class Example:
  """An example config.

  Attributes:
    size: Size of the thing, also
      on two lines.
    rate: Learning rate.
    kind: Which kind.
    layers: Layer widths.
    names: Some names.
    cap: An optional cap.
    on: A switch.
    hidden: not a flag.
  """

  size: int = dataclasses.field(default=3, metadata={"lower_bound": 1, "flag": "example_size"})
  rate: float = 0.5
  kind: Literal["a", "b"] = "a"
  layers: tuple[int, ...] = dataclasses.field(default=(4, 2), metadata={"lower_bound": 1})
  names: tuple[Literal["x", "y"], ...] = ("x",)
  cap: int | None = None
  on: bool = True
  hidden: float = dataclasses.field(default=1.0, metadata={"flag": False})


def _values(argv):
  values = flags.FlagValues()
  config_flags.define_config_flags(Example, values)
  values(["prog"] + argv)
  return values


def test_flags_have_the_fields_types_defaults_and_help():
  values = _values([])
  assert sorted(values) == ["cap", "example_size", "kind", "layers", "names", "on", "rate"]
  assert values["example_size"].help == "Size of the thing, also on two lines."
  assert values["layers"].default == ["4", "2"] and values["kind"].default == "a"
  assert config_flags.config_from_flags(Example, values) == Example()


def test_parsed_flags_build_the_typed_config():
  values = _values(["--example_size=5", "--rate=0.25", "--kind=b", "--layers=8,4,2",
                    "--names=y,x", "--cap=7", "--noon"])
  assert config_flags.config_from_flags(Example, values, fixed={"hidden": 2.0}) == Example(
      size=5, rate=0.25, kind="b", layers=(8, 4, 2), names=("y", "x"), cap=7, on=False,
      hidden=2.0)


@pytest.mark.parametrize("argv,message", [
    (["--example_size=0"], "example_size"),
    (["--kind=c"], "kind"),
    (["--layers=4,0"], "'0' is not a positive integer"),
    (["--names=x,z"], "'z' is not one of x, y"),
])
def test_bad_values_are_refused_when_parsed(argv, message):
  with pytest.raises(flags.Error, match=message):
    _values(argv)


def test_config_from_dict_is_strict_and_as_flags_inverts_it():
  with pytest.raises(InputError, match="unknown setting bogus"):
    config_flags.config_from_dict(Example, {"bogus": 1})
  assert config_flags.config_from_dict(Example, {"layers": [1, 2]}).layers == (1, 2)
  argv = config_flags.config_as_flags(Example, {"size": 5, "layers": (1, 2), "on": False,
                                                "hidden": 3.0})
  assert argv == ("--example_size=5", "--layers=1,2", "--noon")
