"""Which methods exist: every `MethodSpec`, its variants by name, and plugins.

* `get(name) -> Entry`: the spec and variant of a name (canonical or alias);
  an unknown name is an `InputError` listing the choices.
* `entries()`: every variant once, in registration order.
* `specs()`: every spec once.
* `register(spec)`: adds a spec (a plugin's module may call it, or declare `SPEC`).

The built-in methods are the `SPEC`s (or `SPECS`) of the modules of
`tfrankcf.methods`, found by listing the package: a new method is its module
alone. Plugins: the
modules or `.py` files listed in the environment variable `TFRANKCF_PLUGINS`
(separated by `os.pathsep` or commas) are imported when the registry is first
read, and their `SPEC` (or `SPECS`) registered, so a method defined outside the
package is seen by every binary, by `compare` (its subprocesses inherit the
environment) and by `export_model`:

  TFRANKCF_PLUGINS=my_methods.py tfrankcf_train --method=my_method
"""

import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import re
import sys

from tfrankcf.errors import InputError
from tfrankcf.methods.spec import MethodSpec, Variant

PACKAGE = "tfrankcf.methods"
PLUGINS_VARIABLE = "TFRANKCF_PLUGINS"
# Registration order is the order of `compare --methods` choices and of --help groups:
# these modules first (the baselines, then the papers' methods), any other after them.
ORDER = ("closed_form", "bpr", "autoencoder", "supervised", "guidedrec", "ract", "cfsfl", "apr")


@dataclasses.dataclass(frozen=True)
class Entry:
  """A name resolved: the spec and which of its variants.

  Attributes:
    spec: the method's `MethodSpec`.
    variant: the `Variant` the name names.
  """

  spec: MethodSpec
  variant: Variant

  @property
  def name(self) -> str:
    return self.variant.name

  @property
  def label(self) -> str:
    return self.variant.label


_SPECS: dict = {}  # spec name -> spec
_NAMES: dict = {}  # variant name or alias -> Entry
_LOADED = []


def register(spec: MethodSpec) -> MethodSpec:
  """Adds `spec` and its variants; a name already taken by another spec is an error."""
  if spec.name in _SPECS and _SPECS[spec.name] is not spec:
    raise InputError(f"method '{spec.name}' is registered twice")
  _SPECS[spec.name] = spec
  for variant in spec.variants:
    for name in (variant.name,) + tuple(variant.aliases):
      held = _NAMES.get(name)
      if held is not None and held.spec is not spec:
        raise InputError(f"method name '{name}' of {spec.name} is already {held.spec.name}'s")
      _NAMES[name] = Entry(spec, variant)
  return spec


def plugin_sources(value: str | None = None) -> list[str]:
  """The module names or file paths in `TFRANKCF_PLUGINS` (or `value`)."""
  value = os.environ.get(PLUGINS_VARIABLE, "") if value is None else value
  return [part.strip() for part in re.split(f"[,{re.escape(os.pathsep)}]", value)
          if part.strip()]


def _import_plugin(source: str):
  if source.endswith(".py") or os.sep in source:
    path = os.path.abspath(os.path.expanduser(source))
    name = "tfrankcf_plugin_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    if name in sys.modules:
      return sys.modules[name]
    if not os.path.exists(path):
      raise InputError(f"{PLUGINS_VARIABLE}: no such plugin file", path=path)
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
      module_spec.loader.exec_module(module)
    except BaseException:
      del sys.modules[name]
      raise
    return module
  try:
    return importlib.import_module(source)
  except ModuleNotFoundError as error:
    raise InputError(f"{PLUGINS_VARIABLE}: cannot import plugin module '{source}' "
                     f"({error})") from error


def _register_module(module) -> None:
  for spec in (getattr(module, "SPECS", ()) or ()) + (
      (module.SPEC,) if getattr(module, "SPEC", None) is not None else ()):
    register(spec)


def builtin_modules() -> list[str]:
  """The modules of `tfrankcf.methods`, in registration order."""
  package = importlib.import_module(PACKAGE)
  names = [info.name for info in pkgutil.iter_modules(package.__path__)
           if info.name != "registry"]
  rank = {name: index for index, name in enumerate(ORDER)}
  return [f"{PACKAGE}.{name}"
          for name in sorted(names, key=lambda name: (rank.get(name, len(ORDER)), name))]


def _load() -> None:
  if _LOADED:
    return
  _LOADED.append(True)
  for name in builtin_modules():
    _register_module(importlib.import_module(name))
  for source in plugin_sources():
    _register_module(_import_plugin(source))


def get(name: str) -> Entry:
  """The `Entry` of a method name (a variant's name or alias)."""
  _load()
  entry = _NAMES.get(name)
  if entry is None:
    raise InputError(f"unknown method '{name}'; choose from "
                     + ", ".join(entry.name for entry in entries()))
  return entry


def entries(listed_only: bool = True) -> list[Entry]:
  """Every variant of every spec (those `compare` offers, unless `listed_only` is False)."""
  _load()
  return [Entry(spec, variant) for spec in _SPECS.values() for variant in spec.variants
          if variant.listed or not listed_only]


def specs() -> list[MethodSpec]:
  """Every registered spec, in registration order."""
  _load()
  return list(_SPECS.values())


def spec(name: str) -> MethodSpec:
  """The spec named `name` (a spec name, or any of its variants' names)."""
  _load()
  if name in _SPECS:
    return _SPECS[name]
  return get(name).spec
