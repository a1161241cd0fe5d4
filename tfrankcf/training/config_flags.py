"""Command-line flags generated from a method's config dataclass, and the config back from them.

A method declares its settings once, as a dataclass (`MethodSpec.config`):
each field's type, default and `Attributes:` docstring line are its flag's
type, default and help, so no binary re-declares a setting. Field metadata
refines a flag:

* `flag`: the flag's name when it differs from the field's (the names users,
  flagfiles and docs know, e.g. `neumf_layers` for `mlp_layers`), or False for
  a field that is no flag (set by the method or recorded by a fit);
* `lower_bound`, `upper_bound`: bounds checked when the command line is parsed;
* `alias`: a second name of the flag (`--recommender` for CF-SFL's `--actor`);
* `help`: help text instead of the docstring's.

Types: `int`, `float`, `bool`, `str`, `typing.Literal[...]` (an enum), their
`Optional` (default None), and tuples of `int`, `float`, `str` or a `Literal`
(a comma-separated list flag, each item checked when parsed).

`config_from_dict` is the strict way back from a mapping (config.json, a
test's overrides): an unknown key is an `InputError`, never dropped.
"""

import dataclasses
import functools
import re
import types
import typing

from absl import flags

from tfrankcf.errors import InputError

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class FieldFlag:
  """How one config field is a flag.

  Attributes:
    field: the dataclass field.
    name: the flag's name.
    kind: "int", "float", "bool", "str", "enum" or "list".
    item: a list flag's item type (int, float or str).
    choices: an enum's values, or the allowed items of a list flag.
    optional: None is a valid value (the default says what it means).
    help: the flag's help text.
  """

  field: dataclasses.Field
  name: str
  kind: str
  item: type | None
  choices: tuple | None
  optional: bool
  help: str


def _attribute_docs(cls) -> dict:
  """{field: text} from the `Attributes:` sections of `cls` and its bases (nearest wins)."""
  docs = {}
  for klass in reversed(cls.__mro__):
    section = re.search(r"\n\s*Attributes:\n(.*?)(?:\n\s*\n\s*\w[\w ]*:\n|\Z)",
                        klass.__doc__ or "", re.S)
    if not section:
      continue
    name, lines = None, []
    for line in section.group(1).splitlines() + ["x_end_: "]:
      entry = re.match(r"\s*(\w+): ?(.*)$", line)
      indent = len(line) - len(line.lstrip())
      if entry and (name is None or indent <= base_indent):
        if name is not None:
          docs[name] = " ".join(lines).strip()
        name, lines, base_indent = entry.group(1), [entry.group(2)], indent
      elif name is not None:
        lines.append(line.strip())
  docs.pop("x_end_", None)
  return docs


def _unwrap_optional(hint):
  origin = typing.get_origin(hint)
  if origin in (typing.Union, types.UnionType):
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if len(args) == 1 and len(typing.get_args(hint)) == 2:
      return args[0], True
  return hint, False


def _scalar(hint):
  """(kind, python type, choices) of a scalar annotation."""
  if typing.get_origin(hint) is typing.Literal:
    choices = typing.get_args(hint)
    return "enum", type(choices[0]), tuple(choices)
  for kind, python_type in (("bool", bool), ("int", int), ("float", float), ("str", str)):
    if hint is python_type:
      return kind, python_type, None
  raise TypeError(f"unsupported config field type {hint!r}")


@functools.lru_cache(maxsize=None)
def field_flags(cls) -> tuple:
  """The `FieldFlag` of every field of config dataclass `cls` that is a flag, in field order."""
  hints = typing.get_type_hints(cls)
  docs = _attribute_docs(cls)
  found = []
  for field in dataclasses.fields(cls):
    name = field.metadata.get("flag", field.name)
    if name is False:
      continue
    hint, optional = _unwrap_optional(hints[field.name])
    item, choices = None, None
    if typing.get_origin(hint) in (tuple, list):
      args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
      _, item, choices = _scalar(args[0])
      kind = "list"
    else:
      kind, _, choices = _scalar(hint)
    text = field.metadata.get("help") or docs.get(field.name)
    if not text:
      raise TypeError(f"{cls.__name__}.{field.name}: no `Attributes:` docstring line (its "
                      "flag's help)")
    found.append(FieldFlag(field, name, kind, item, choices, optional, text))
  return tuple(found)


def field_default(field: dataclasses.Field):
  """The field's default value (its default_factory called)."""
  if field.default is not dataclasses.MISSING:
    return field.default
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  raise TypeError(f"config field {field.name} has no default")


def _as_text(value) -> str:
  text = repr(value) if isinstance(value, float) else str(value)
  return text[:-2] if isinstance(value, float) and text.endswith(".0") else text


def _list_validator(spec: FieldFlag):
  def check(values):
    for value in values or ():
      try:
        parsed = spec.item(value)
        ok = (spec.choices is None or parsed in spec.choices)
        if ok and spec.item in (int, float):
          bound = spec.field.metadata.get("lower_bound")
          ok = bound is None or parsed >= bound
      except ValueError:
        ok = False
      if not ok:
        what = (f"one of {', '.join(map(str, spec.choices))}" if spec.choices else
                {int: "an integer", float: "a number", str: "a string"}[spec.item])
        bound = spec.field.metadata.get("lower_bound")
        if bound is not None and spec.choices is None:
          what = {0: "non-negative", 1: "positive"}.get(bound, f">= {bound}") + " " + (
              "integer" if spec.item is int else "number")
          what = ("an " if what[0] in "aeiou" else "a ") + what
        raise flags.ValidationError(f"--{spec.name}={','.join(values)}: {value!r} is not "
                                    f"{what}")
    return True
  return check


def define_flag(spec: FieldFlag, flag_values=FLAGS, default=dataclasses.MISSING,
                module_name: str | None = None) -> None:
  """Defines the flag of one config field in `flag_values` (default: the field's default)."""
  value = field_default(spec.field) if default is dataclasses.MISSING else default
  bounds = {key: spec.field.metadata[key] for key in ("lower_bound", "upper_bound")
            if key in spec.field.metadata}
  common = dict(flag_values=flag_values, module_name=module_name)
  if spec.kind == "list":
    flags.DEFINE_list(spec.name, None if value is None else [_as_text(v) for v in value],
                      spec.help, **common)
    flags.register_validator(spec.name, _list_validator(spec), flag_values=flag_values)
  elif spec.kind == "enum":
    flags.DEFINE_enum(spec.name, value, [str(choice) for choice in spec.choices], spec.help,
                      **common)
  elif spec.kind == "bool":
    flags.DEFINE_bool(spec.name, value, spec.help, **common)
  elif spec.kind == "int":
    flags.DEFINE_integer(spec.name, value, spec.help, **bounds, **common)
  elif spec.kind == "float":
    flags.DEFINE_float(spec.name, value, spec.help, **bounds, **common)
  else:
    flags.DEFINE_string(spec.name, value, spec.help, **common)
  alias = spec.field.metadata.get("alias")
  if alias:
    flags.DEFINE_alias(alias, spec.name, flag_values=flag_values, module_name=module_name)


def define_config_flags(cls, flag_values=FLAGS, skip=(), module_name: str | None = None
                        ) -> list[str]:
  """Defines a flag per field of `cls` (but the fields in `skip`); returns the flag names."""
  names = []
  for spec in field_flags(cls):
    if spec.field.name in skip or spec.name in flag_values:
      continue
    define_flag(spec, flag_values, module_name=module_name)
    names.append(spec.name)
    if spec.field.metadata.get("alias"):
      names.append(spec.field.metadata["alias"])
  return names


def _from_flag(spec: FieldFlag, value):
  if value is None:
    return None
  if spec.kind == "list":
    return tuple(spec.item(item) for item in value)
  if spec.kind == "enum":
    return next(choice for choice in spec.choices if str(choice) == value)
  return value


def config_from_flags(cls, flag_values=FLAGS, fixed: typing.Mapping | None = None):
  """The `cls` of the parsed flags; `fixed` values (a variant's) override them."""
  values = {}
  for spec in field_flags(cls):
    if spec.name in flag_values:
      value = flag_values[spec.name].value
      if value is None and not spec.optional:
        continue  # a flag the binary defines for several specs, unset: this spec's default
      values[spec.field.name] = _from_flag(spec, value)
  values.update(fixed or {})
  return config_from_dict(cls, values)


def _coerce(hint, value):
  """A JSON value (lists for tuples) as the field's annotated type."""
  hint, _ = _unwrap_optional(hint)
  if value is None:
    return None
  if (hint is tuple or typing.get_origin(hint) in (tuple, list)) and isinstance(value, list):
    return tuple(value)
  if hint is float and isinstance(value, int) and not isinstance(value, bool):
    return float(value)
  return value


def config_from_dict(cls, values: typing.Mapping, what: str = ""):
  """`cls(**values)` with lists as tuples; an unknown key is an `InputError` naming it."""
  names = [field.name for field in dataclasses.fields(cls)]
  unknown = sorted(set(values) - set(names))
  if unknown:
    raise InputError(f"{what or cls.__name__}: unknown setting{'s' if len(unknown) > 1 else ''} "
                     f"{', '.join(unknown)}; known: {', '.join(names)}")
  hints = typing.get_type_hints(cls)
  try:
    return cls(**{key: _coerce(hints[key], value) for key, value in values.items()})
  except (TypeError, ValueError) as error:
    raise InputError(f"{what or cls.__name__}: {error}") from error


def config_as_flags(cls, values: typing.Mapping) -> tuple:
  """`--name=value` arguments that set `values` (config fields) on a generated command line."""
  by_field = {spec.field.name: spec for spec in field_flags(cls)}
  argv = []
  for key, value in values.items():
    spec = by_field.get(key)
    if spec is None:
      continue  # not a flag of this binary (e.g. the field a --method value selects)
    if spec.kind == "bool":
      argv.append(f"--{spec.name}" if value else f"--no{spec.name}")
    elif spec.kind == "list":
      argv.append(f"--{spec.name}=" + ",".join(_as_text(v) for v in value))
    else:
      argv.append(f"--{spec.name}={_as_text(value)}")
  return tuple(argv)
