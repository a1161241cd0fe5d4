"""Imports point down the layers, never from inside a function, and never in a cycle.

Reads every module of `tfrankcf/` and `binaries/` (installed as
`tfrankcf.binaries`) with `ast`, without importing anything, and fails on

(a) an import of a tfrankcf module from a higher layer than the importer's
    (same-layer imports are allowed; the top-level `tfrankcf/__init__.py`, the
    package's front door, may import anything);
(b) an `import` / `from ... import` of a tfrankcf module inside a function or
    method body (the usual way to dodge a cycle; lazy third-party imports such
    as `import tensorflow` inside a function are fine);
(c) an import cycle between tfrankcf modules.

Every message names file:line and the offending import. The last test plants
one violation of each kind in a small temporary tree and checks that the
checks find them, so they cannot pass vacuously.
"""

import ast
import dataclasses
import os
import textwrap

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
PACKAGE = "tfrankcf"

# The rooms of the package, lowest first (docs: errors -> datasets -> protocols -> metrics /
# inputs / losses / backbones / optimizers -> methods and baselines -> training -> serving /
# comparison -> binaries). `api`, the Python API over the registry, sits with serving: it
# trains (training) and exports (serving), and the binaries call it.
LAYERS = {
    "errors": 0,
    "datasets": 1,
    "protocols": 2,
    "metrics": 3, "inputs": 3, "losses": 3, "backbones": 3, "optimizers": 3,
    "methods": 4, "baselines": 4,
    "training": 5,
    "serving": 6, "comparison": 6, "api": 6,
    "binaries": 7,
}


@dataclasses.dataclass(frozen=True)
class Import:
  """One import statement's edge: `importer` (a module) reads `target` (a module)."""

  importer: str
  target: str
  path: str  # the importer's file, relative to the tree's root
  line: int
  statement: str  # the import as written (`from x import y`)
  in_function: bool
  type_checking_only: bool  # under `if TYPE_CHECKING:` (not run, so not part of a cycle)


def _module_files(root: str) -> dict:
  """{module name: file path} of every module of `root`/tfrankcf and `root`/binaries."""
  files = {}
  for directory, package in ((os.path.join(root, PACKAGE), PACKAGE),
                             (os.path.join(root, "binaries"), f"{PACKAGE}.binaries")):
    for dirpath, dirnames, filenames in os.walk(directory):
      dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
      for filename in sorted(filenames):
        if not filename.endswith(".py"):
          continue
        relative = os.path.relpath(os.path.join(dirpath, filename), directory)
        parts = relative[:-len(".py")].split(os.sep)
        if parts[-1] == "__init__":
          parts = parts[:-1]
        files[".".join([package] + parts)] = os.path.join(dirpath, filename)
  return files


def room(module: str) -> str | None:
  """The room (key of `LAYERS`) of a tfrankcf module; None for the top-level package."""
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else None


def _statement(node: ast.stmt) -> str:
  names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
  if isinstance(node, ast.Import):
    return f"import {names}"
  return f"from {'.' * node.level}{node.module or ''} import {names}"


def _is_type_checking(test: ast.expr) -> bool:
  return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
          or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(tree: ast.Module):
  """(node, in_function, type_checking_only) of every import statement of a module."""
  found = []

  def visit(node, in_function, type_checking):
    for child in ast.iter_child_nodes(node):
      if isinstance(child, (ast.Import, ast.ImportFrom)):
        found.append((child, in_function, type_checking))
      child_in_function = in_function or isinstance(
          child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
      if isinstance(child, ast.If) and _is_type_checking(child.test):
        for statement in child.body:
          visit(ast.Module(body=[statement], type_ignores=[]), child_in_function, True)
        for statement in child.orelse:
          visit(ast.Module(body=[statement], type_ignores=[]), child_in_function, type_checking)
      else:
        visit(child, child_in_function, type_checking)

  visit(tree, False, False)
  return found


def imports(root: str = ROOT) -> tuple[dict, list]:
  """({module: path}, [Import]) of the tree at `root`: every import of a tfrankcf module."""
  files = _module_files(root)
  edges = []
  for module, path in files.items():
    with open(path, encoding="utf-8") as f:
      tree = ast.parse(f.read(), filename=path)
    is_package = os.path.basename(path) == "__init__.py"
    for node, in_function, type_checking in _import_nodes(tree):
      if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
      else:
        base = node.module or ""
        if node.level:  # relative: resolved against the importer's package
          package = module.split(".") if is_package else module.split(".")[:-1]
          package = package[:len(package) - (node.level - 1)]
          base = ".".join(package + ([base] if base else []))
        # `from package import submodule` reads the submodule; `from module import name`
        # reads the module.
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                   for alias in node.names]
      for target in dict.fromkeys(targets):
        if target == PACKAGE or target.startswith(PACKAGE + "."):
          edges.append(Import(module, target, os.path.relpath(path, root), node.lineno,
                              _statement(node), in_function, type_checking))
  return files, edges


def unplaced_modules(root: str = ROOT) -> list:
  """Messages for the modules of a room `LAYERS` does not place."""
  files, _ = imports(root)
  return [f"{os.path.relpath(path, root)}: room '{room(module)}' has no layer in LAYERS"
          for module, path in files.items()
          if module != PACKAGE and room(module) not in LAYERS]


def upward_imports(root: str = ROOT) -> list:
  """Messages for the imports of a module from a higher layer than the importer's."""
  _, edges = imports(root)
  messages = []
  for edge in edges:
    if edge.importer == PACKAGE:
      continue  # the front door re-exports the public API
    source = LAYERS.get(room(edge.importer))
    target = LAYERS.get(room(edge.target)) if edge.target != PACKAGE else max(LAYERS.values()) + 1
    if source is not None and target is not None and target > source:
      messages.append(f"{edge.path}:{edge.line}: `{edge.statement}`: {room(edge.importer)} "
                      f"(layer {source}) imports {edge.target} (layer {target})")
  return messages


def function_level_imports(root: str = ROOT) -> list:
  """Messages for the imports of tfrankcf modules inside a function or method body."""
  _, edges = imports(root)
  return [f"{edge.path}:{edge.line}: `{edge.statement}` inside a function (import it at the "
          "top of the module; a cycle it dodges is a structure to fix)"
          for edge in edges if edge.in_function]


def import_cycles(root: str = ROOT) -> list:
  """Messages for every cycle of module-level imports (one per strongly connected set)."""
  files, edges = imports(root)
  graph = {module: [] for module in files}
  for edge in edges:
    if not edge.in_function and not edge.type_checking_only and edge.target in graph:
      graph[edge.importer].append(edge)
  # Tarjan's strongly connected components, iteratively.
  index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], [0]
  for start in sorted(graph):
    if start in index:
      continue
    work = [(start, iter(graph[start]))]
    index[start] = low[start] = counter[0]
    counter[0] += 1
    stack.append(start)
    on_stack.add(start)
    while work:
      module, remaining = work[-1]
      edge = next(remaining, None)
      if edge is not None:
        target = edge.target
        if target not in index:
          index[target] = low[target] = counter[0]
          counter[0] += 1
          stack.append(target)
          on_stack.add(target)
          work.append((target, iter(graph[target])))
        elif target in on_stack:
          low[module] = min(low[module], index[target])
        continue
      work.pop()
      if work:
        low[work[-1][0]] = min(low[work[-1][0]], low[module])
      if low[module] == index[module]:
        component = []
        while True:
          member = stack.pop()
          on_stack.discard(member)
          component.append(member)
          if member == module:
            break
        members = set(component)
        if len(members) > 1 or any(e.target == module for e in graph[module]):
          components.append(members)
  messages = []
  for members in components:
    inside = [e for m in sorted(members) for e in graph[m] if e.target in members]
    lines = "; ".join(f"{e.path}:{e.line}: `{e.statement}`" for e in inside)
    messages.append(f"import cycle between {', '.join(sorted(members))}: {lines}")
  return messages


def _report(messages: list) -> str:
  return "\n" + "\n".join(messages)


def test_every_module_is_in_a_room_with_a_layer():
  messages = unplaced_modules()
  assert not messages, _report(messages)


def test_no_module_imports_from_a_higher_layer():
  messages = upward_imports()
  assert not messages, _report(messages)


def test_no_tfrankcf_import_inside_a_function():
  messages = function_level_imports()
  assert not messages, _report(messages)


def test_no_import_cycle():
  messages = import_cycles()
  assert not messages, _report(messages)


def _write(root, relative: str, text: str = "") -> None:
  path = os.path.join(root, relative)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write(textwrap.dedent(text))


def test_the_checks_find_planted_violations(tmp_path):
  root = str(tmp_path)
  for package in ("tfrankcf", "tfrankcf/datasets", "tfrankcf/methods", "tfrankcf/training",
                  "binaries"):
    _write(root, f"{package}/__init__.py")
  _write(root, "tfrankcf/__init__.py", "from tfrankcf.training import run\n")  # allowed
  _write(root, "tfrankcf/errors.py", "import os\n")
  _write(root, "tfrankcf/datasets/reader.py", """\
      import numpy as np
      from tfrankcf.errors import InputError
      from tfrankcf.methods import model
      """)
  _write(root, "tfrankcf/methods/model.py", """\
      from . import helper
      from tfrankcf.datasets import reader as reader_module


      def build():
        import tensorflow as tf  # third-party: allowed
        from tfrankcf.training.run import Trainable
        return tf, Trainable
      """)
  _write(root, "tfrankcf/methods/helper.py", """\
      from typing import TYPE_CHECKING
      if TYPE_CHECKING:
        from tfrankcf.methods.model import build  # not run: no cycle
      """)
  _write(root, "tfrankcf/training/run.py", """\
      import tfrankcf.methods.model
      from tfrankcf.binaries import main
      """)
  _write(root, "tfrankcf/mystery/__init__.py")
  _write(root, "binaries/main.py", "from tfrankcf.training import run\n")

  upward = upward_imports(root)  # a function-level import is placed in its layer too
  assert len(upward) == 3, _report(upward)
  assert upward[0].startswith(os.path.join("tfrankcf", "datasets", "reader.py") + ":3: "
                              "`from tfrankcf.methods import model`: datasets (layer 1)")
  assert upward[1].startswith(os.path.join("tfrankcf", "methods", "model.py") + ":7: "
                              "`from tfrankcf.training.run import Trainable`: methods (layer 4)")
  assert upward[2].startswith(os.path.join("tfrankcf", "training", "run.py") + ":2: "
                              "`from tfrankcf.binaries import main`")

  local = function_level_imports(root)
  assert local == [os.path.join("tfrankcf", "methods", "model.py") + ":7: "
                   "`from tfrankcf.training.run import Trainable` inside a function (import it "
                   "at the top of the module; a cycle it dodges is a structure to fix)"], local

  cycles = import_cycles(root)
  assert len(cycles) == 2, _report(cycles)  # reader <-> model; training.run <-> binaries.main
  reader_model = [c for c in cycles if "tfrankcf.datasets.reader" in c]
  assert len(reader_model) == 1 and "tfrankcf.methods.helper" not in reader_model[0]
  assert ("tfrankcf/methods/model.py:2: `from tfrankcf.datasets import reader as reader_module`"
          .replace("/", os.sep) in reader_model[0])
  assert "tfrankcf.binaries.main" in [c for c in cycles if c not in reader_model][0]

  assert unplaced_modules(root) == [os.path.join("tfrankcf", "mystery", "__init__.py")
                                    + ": room 'mystery' has no layer in LAYERS"]

  # Without the planted violations the same tree is clean.
  _write(root, "tfrankcf/datasets/reader.py", "from tfrankcf.errors import InputError\n")
  _write(root, "tfrankcf/methods/model.py", "from . import helper\n")
  _write(root, "tfrankcf/training/run.py", "import tfrankcf.methods.model\n")
  os.remove(os.path.join(root, "tfrankcf", "mystery", "__init__.py"))
  assert not (upward_imports(root) or function_level_imports(root) or import_cycles(root)
              or unplaced_modules(root))
