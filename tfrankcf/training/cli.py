"""What every binary does around its library call: help, usage errors and exit codes.

`run(main, define)` parses the command line before `main` runs (`define(argv)`
first defines the flags that depend on it, e.g. those of the selected method):

* `--help` (`-h`, `--helpshort`) lists the flags the binary defines, by the
  groups of `help_group`, each with its default, and exits 0 (`--helpfull`
  stays absl's: every flag of every module).
* A bad flag, value or argument is one line `error: ...` on stderr and exit 2,
  before any work; a line of a flagfile is named as `file:line`.

It then runs `main`, rendering `InputError` as one line (exit 2), a diverged
training as one line (exit 3) and Ctrl-C as one line (exit 130).
"""

import os
import re
import sys
import textwrap
from typing import Callable

from absl import app
from absl import flags

from tfrankcf.errors import InputError, TrainingDiverged

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
HELP_ARGS = ("-h", "--help", "-help", "-?", "--helpshort", "-helpshort")
INTERRUPTED = "interrupted; rerun the same command to resume"
FLAGFILE_DIRECTIVES = ("--flagfile=", "-flagfile=")

FLAGS = flags.FLAGS

_GROUPS: dict[str, list] = {}  # title -> flag names, titles in registration order
_TRAILING: list[str] = []  # titles listed after every other group
_GROUP_OF: dict[str, str] = {}  # flag name -> title of the first group naming it


def help_group(title: str, names, last: bool = False) -> None:
  """Lists flags `names` under `title` in `--help` (`last`: after the binary's own groups).

  A flag belongs to the first group that names it, so a binary can group shared
  flags its own way before the shared `define_*` functions group them; names a
  binary does not define are skipped.
  """
  members = _GROUPS.setdefault(title, [])
  for name in names:
    if name not in _GROUP_OF:
      _GROUP_OF[name] = title
      members.append(name)
  if last and title not in _TRAILING:
    _TRAILING.append(title)


class _UsageError(Exception):
  """A bad command line: its message is the whole error line after `error: `."""


def run(main: Callable[[list], None], define: Callable[[list], None] | None = None) -> None:
  """`absl.app.run(main)` with this module's help, usage errors and exit codes.

  `define(argv)`, when given, runs before the help or the parse: it defines the
  flags that depend on the command line (a binary of several methods defines the
  selected method's).
  """

  def guarded(argv):
    try:
      main(argv)
    except InputError as error:
      _fail(str(error), EXIT_BAD_INPUT)
    except KeyboardInterrupt as error:
      _fail(str(error) or INTERRUPTED, EXIT_INTERRUPTED, prefix="")
    except TrainingDiverged as error:
      _fail(f"training diverged: {error}", EXIT_DIVERGED)

  module = sys.modules.get(getattr(main, "__module__", ""), None)
  app.run(guarded, flags_parser=lambda argv: parse(argv, module, define))


def preparse(argv: list, names) -> dict:
  """{name: value} of string flags `names` in `argv` (flagfiles read), before FLAGS exist.

  A separate `FlagValues` reads only these flags (`known_only`), so a binary can
  choose what else to define; anything wrong is left to the real parse to report.
  """
  scratch = flags.FlagValues()
  for name in names:
    flags.DEFINE_string(name, None, "", flag_values=scratch)
  try:
    scratch(list(argv[:1]) + _before_terminator(list(argv[1:])), known_only=True)
  except Exception:  # pylint: disable=broad-except
    return {}
  return {name: scratch[name].value for name in names if scratch[name].present}


def wants_help(argv: list) -> bool:
  """Whether `argv` asks for --help (before a `--`)."""
  return any(arg in HELP_ARGS for arg in _before_terminator(argv[1:]))


def parse(argv: list, module=None, define: Callable[[list], None] | None = None) -> list:
  """Parses `argv` into FLAGS (absl's parser), printing help or a usage error and exiting.

  `module` is the binary's module, whose docstring heads `--help`; `define(argv)`
  (default: the module's `define`, if any) defines the flags that depend on the
  command line first.
  """
  define = define or getattr(module, "define", None)
  if define is not None:
    try:
      define(argv)
    except InputError as error:
      _fail(str(error), EXIT_BAD_INPUT)
  if wants_help(argv):
    sys.stdout.write(help_text(module, os.path.basename(argv[0])))
    sys.exit(0)
  try:
    sourced = _with_sources(argv[1:])
    try:
      remaining = FLAGS(argv)
    except (flags.Error, ValueError) as error:
      raise _UsageError(_describe(error, sourced)) from None
    if len(remaining) > 1:
      where = _source_of(sourced, lambda arg: arg == remaining[1])
      raise _UsageError(f"{where}unexpected argument {remaining[1]!r} "
                        "(flags take the form --name=value)")
  except _UsageError as error:
    _fail(str(error), EXIT_BAD_INPUT)
  return remaining


def _fail(message: str, code: int, prefix: str = "error: ") -> None:
  print(prefix + " ".join(message.split("\n")), file=sys.stderr)
  sys.exit(code)


# -- usage errors -----------------------------------------------------------

def _before_terminator(args: list) -> list:
  return args[:args.index("--")] if "--" in args else args


def _with_sources(args: list) -> list[tuple[str, str]]:
  """`args` with each flagfile read in place, as absl does, and where each argument is from.

  The source is "" for the command line and "file:line: " for a flagfile's line.
  """
  sourced = []
  args = list(args)
  while args:
    arg = args.pop(0)
    if arg in ("--flagfile", "-flagfile") and args:
      sourced += _flagfile_args(args.pop(0), [])
    elif arg.startswith(FLAGFILE_DIRECTIVES):
      sourced += _flagfile_args(arg.split("=", 1)[1], [])
    else:
      sourced.append((arg, ""))
      if arg == "--":
        sourced += [(rest, "") for rest in args]
        break
  return sourced


def _flagfile_args(path: str, stack: list) -> list[tuple[str, str]]:
  """The arguments of flagfile `path` (nested flagfiles read in place) with their lines."""
  path = os.path.expanduser(path.strip())
  if path in stack:
    return []  # absl skips a circular flagfile too
  try:
    with open(path) as f:
      lines = f.readlines()
  except OSError as error:
    raise _UsageError(f"{path}: cannot read the flagfile ({error.strerror})") from None
  sourced = []
  for number, line in enumerate(lines, 1):
    if line.isspace() or line.startswith(("#", "//")):
      continue
    if line.startswith(FLAGFILE_DIRECTIVES):
      sourced += _flagfile_args(line.split("=", 1)[1], stack + [path])
    else:
      sourced.append((line.strip(), f"{path}:{number}: "))
  return sourced


def _flag_name(arg: str) -> str | None:
  if not arg.startswith("-") or arg == "--":
    return None
  return arg.lstrip("-").split("=", 1)[0]


def _source_of(sourced: list, matches) -> str:
  """Where the last argument satisfying `matches` came from ("" if none does)."""
  sources = [source for arg, source in sourced if matches(arg)]
  return sources[-1] if sources else ""


def _source_of_flag(sourced: list, name: str, value: str | None = None) -> str:
  """Where flag `name` was given: the last occurrence with `value`, else the last one."""
  names = (name, "no" + name)
  with_value = _source_of(sourced, lambda arg: _flag_name(arg) in names
                          and "=" in arg and arg.split("=", 1)[1] == value)
  return with_value or _source_of(sourced, lambda arg: _flag_name(arg) in names)


def _describe(error: Exception, sourced: list) -> str:
  """One line for an absl parsing error, naming the flag and where it was given."""
  if isinstance(error, flags.UnrecognizedFlagError):
    where = _source_of(sourced, lambda arg: arg == error.flagvalue) or _source_of_flag(
        sourced, error.flagname)
    suggestion = re.search(r"Did you mean: (.+?) \?", str(error))
    hint = ""
    if suggestion:
      hint = " (did you mean " + " or ".join(
          f"--{name.strip()}" for name in suggestion.group(1).split(",")) + "?)"
    return f"{where}--{error.flagname}: unknown flag{hint}"
  message = str(error).split("\n")[0]  # absl joins every failed validator's message
  value_error = re.match(r"flags? (?:--)?(\w+)=(.*?): (.*)$", message)
  if value_error:  # "flag --name=value: problem", "flags a=1, b=2: problem"
    name, value, problem = value_error.groups()
    required = re.match(r"Flag --(\w+) must have a value other than None", problem)
    if required:
      return f"--{required.group(1)} is required"
    bound = re.match(r"\S+ is not (.+)$", problem)  # lower_bound, upper_bound
    choices = re.match(r"value should be one of <(.*)>$", problem)  # enum
    if bound:
      problem = f"must be {bound.group(1)}"
    elif choices:
      problem = "must be one of " + ", ".join(choices.group(1).split("|"))
    if not problem.startswith("--"):  # this package's validators name the flag themselves
      problem = f"--{name}={value}: {problem}"
    else:
      name = re.match(r"--(\w+)", problem).group(1)
    return _source_of_flag(sourced, name, value) + problem
  missing = re.match(r"Missing value for flag (-\S+)$", message)
  if missing:
    message = f"{missing.group(1)}: missing value (--name=value)"
  no_argument = re.match(r"(-\S+) does not take an argument$", message)  # --noflag=value
  if no_argument:
    message = f"{no_argument.group(1)}: takes no value"
  named = re.search(r"(--?\w+)", message)
  where = _source_of_flag(sourced, named.group(1).lstrip("-")) if named else ""
  return where + message


# -- help --------------------------------------------------------------------

GENERAL_HELP = (
    ("--flagfile", "Read flags from this file, one per line ('#' starts a comment); later "
                   "flags override earlier ones, so flags after it change its settings."),
    ("--verbosity (-v)", "Logging verbosity; given, TensorFlow's start-up logging is shown "
                         "too (binaries start without it unless TF_CPP_MIN_LOG_LEVEL is set)."),
    ("--helpfull", "Every flag, including absl's and TensorFlow's."),
)


def _project_flags() -> list:
  """The flags this package defines (the binary's and tfrankcf's), in definition order."""
  found = {}
  for module, module_flags in FLAGS.flags_by_module_dict().items():
    if module.startswith("tfrankcf.") or module == sys.argv[0]:  # absl names __main__ argv[0]
      for flag in module_flags:
        found.setdefault(flag.name, flag)
  return list(found.values())


def _default(flag) -> str | None:
  """The default as a user types it, or None when unset (the help says what that means)."""
  if flag.default in (None, "", []):
    return None
  if isinstance(flag.default, str):
    return repr(flag.default)
  return flag.default_as_str.strip("'")


def _wrap(text: str, width: int) -> str:
  return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="      ",
                       break_long_words=False, break_on_hyphens=False)


def _render_flag(flag, width: int) -> str:
  name = f"--[no]{flag.name}" if flag.boolean else f"--{flag.name}"
  if flag.short_name:
    name += f" (-{flag.short_name})"
  notes = []
  default = _default(flag)
  if default is not None:
    notes.append(f"default: {default}")
  parser = flag.parser
  if (getattr(parser, "lower_bound", None) is not None
      or getattr(parser, "upper_bound", None) is not None):
    notes.append(parser.syntactic_help)
  return _wrap(f"{name}: {flag.help}" + (f" ({'; '.join(notes)})" if notes else ""), width)


def help_text(module=None, prog: str = "") -> str:
  """`--help`: the binary's docstring, then its flags by group, then a few general ones.

  Flags no group names (a binary without groups: all of them) come after the
  binary's groups, before the trailing ones. A binary module's `help_groups()`
  (when it has one) adds [(title, flags)] groups after its own, e.g. each
  method's flags with that method's defaults when no method is selected yet.
  """
  width = min(max(flags.get_help_width(), 80), 100)
  defined = {flag.name: flag for flag in _project_flags()}
  leading = [title for title in _GROUPS if title not in _TRAILING]
  groups = [(title, [defined[name] for name in _GROUPS[title] if name in defined])
            for title in leading + _TRAILING]
  groups = [(title, group_flags) for title, group_flags in groups if group_flags]
  ungrouped = [flag for name, flag in defined.items() if name not in _GROUP_OF]
  if ungrouped:
    shown_before = sum(title not in _TRAILING for title, _ in groups)
    groups.insert(shown_before, ("other" if groups else "flags", ungrouped))
  extra = getattr(module, "help_groups", None)
  if callable(extra):
    shown_before = sum(title not in _TRAILING for title, _ in groups)
    groups[shown_before:shown_before] = [group for group in extra() if group[1]]
  doc = ((module.__doc__ if module else "") or "").strip()
  lines = [doc or f"USAGE: {re.sub(r'[.]py$', '', prog)} [flags]", ""]
  for title, group_flags in groups:
    lines.append(f"{title}:")
    lines += [_render_flag(flag, width) for flag in group_flags]
    lines.append("")
  lines.append("general:")
  lines += [_wrap(f"{name}: {text}", width) for name, text in GENERAL_HELP]
  return "\n".join(lines) + "\n"
