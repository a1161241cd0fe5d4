"""How `compare` runs and reads each method: derived from the method registry.

Which methods exist, their labels, roles, binaries and flagfile families are
the specs' (`tfrankcf.methods.registry`; a plugin's too). This module keeps
what is about comparing: a `ComparedMethod` row per `--methods` name, with
the command-line flags that run it on its binary (the `--method` that selects
it and the values its variant fixes), and the checks made before anything
runs.
"""

import dataclasses
from typing import Mapping

from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.training.config_flags import config_as_flags

GENERIC_BINARY = "train"  # trains any entry by --method=<name>


@dataclasses.dataclass(frozen=True)
class ComparedMethod:
  """How `compare` trains and reads one method (one registry entry).

  Attributes:
    name: the `--methods` name (the entry's canonical name), also the run directory's.
    label: the name in tables and plots.
    binary: module of `tfrankcf.binaries` that trains it.
    flags: the flags selecting it and its variant on the binary (after its flagfile).
    family: flagfile family: `configs/<family>_*.cfg` matching the dataset and
      protocol is used (None: no flagfile).
    defaults: flags before the flagfile (what compare assumes when the
      flagfile does not say, e.g. `--epochs`).
    dataset_flags: {dataset: flags} after the method's flags (e.g. the
      paper's epochs for that dataset).
    baseline: a baseline (else a proposed method of this package's papers).
    closed_form: deterministic given the split: one fit, paired with every seed.
    id_based: scores users by their training id (not under `strong`).
  """

  name: str
  label: str
  binary: str
  flags: tuple = ()
  family: str | None = None
  defaults: tuple = ()
  dataset_flags: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
  baseline: bool = True
  closed_form: bool = False
  id_based: bool = False

  @property
  def protocols(self) -> tuple:
    if self.id_based:
      return ("loo_sampled", "loo_full", "given")
    return ("loo_sampled", "loo_full", "strong", "given")


def entry_flags(entry) -> tuple:
  """The flags that run `entry` on its spec's binary."""
  spec, variant = entry.spec, entry.variant
  if spec.binary == GENERIC_BINARY:
    return (f"--method={variant.name}",) + tuple(variant.compare_flags)
  selector, values = spec.selector_of(variant)
  selected = (f"--method={selector}",) if selector else ()
  return selected + config_as_flags(spec.config, values) + tuple(variant.compare_flags)


def compared(entry) -> ComparedMethod:
  """The `ComparedMethod` of a registry entry."""
  spec, variant = entry.spec, entry.variant
  return ComparedMethod(
      name=variant.name, label=variant.label, binary=spec.binary, flags=entry_flags(entry),
      family=spec.family_of(variant), defaults=tuple(spec.compare_defaults),
      dataset_flags=dict(variant.dataset_flags), baseline=spec.role == "baseline",
      closed_form=spec.closed_form, id_based=spec.scores_by == "id")


def methods() -> dict:
  """{name: ComparedMethod} of every entry `compare --methods` offers, in registry order."""
  return {entry.name: compared(entry) for entry in registry.entries()}


METHODS = methods()


def get_methods(names, protocol: str) -> list[ComparedMethod]:
  """The rows of `names`, checked before anything runs (InputError names the problem).

  A name may be an entry's alias (a name older runs recorded): its row is the entry's.
  """
  choices = ", ".join(METHODS)
  names = [name.strip() for name in names if name.strip()]
  if not names:
    raise InputError("--methods is empty; choose from " + choices)
  duplicates = sorted({name for name in names if names.count(name) > 1})
  if duplicates:
    raise InputError(f"--methods lists {', '.join(duplicates)} more than once")
  unknown = []
  rows = []
  for name in names:
    try:
      rows.append(compared(registry.get(name)))
    except InputError:
      unknown.append(name)
  if unknown:
    raise InputError(f"unknown method{'s' if len(unknown) > 1 else ''} "
                     f"{', '.join(repr(n) for n in unknown)}; choose from " + choices)
  refused = [row.name for row in rows if protocol not in row.protocols]
  if refused:
    raise InputError(f"{', '.join(refused)} score{'s' if len(refused) == 1 else ''} users by "
                     f"their training id and cannot rank the unseen test users of "
                     f"--protocol={protocol}; use loo_sampled, loo_full or given")
  return rows
