"""Every public loss and metric has a usage example, and every example runs (issue 19, item 6).

Each module of `tfrankcf.losses` and `tfrankcf.metrics` is one case: its doctests run with
fresh, empty globals (an example imports what it uses, so it can be pasted as it stands) and
NORMALIZE_WHITESPACE | ELLIPSIS. A second case per module fails when a public function or
class defined there (no leading underscore) has no example in its own docstring, so a new loss
or metric cannot land without one. Plain `python -m pytest` runs them: no `--doctest-modules`.
"""

import doctest
import importlib
import inspect
import io
import pkgutil
import types
import unittest

import pytest

import tfrankcf.losses
import tfrankcf.metrics

PACKAGES = (tfrankcf.losses, tfrankcf.metrics)
OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _module_names() -> list:
  names = []
  for package in PACKAGES:
    names.append(package.__name__)
    names.extend(info.name for info in pkgutil.iter_modules(package.__path__,
                                                            package.__name__ + "."))
  return sorted(names)


MODULES = _module_names()


def public_objects(module: types.ModuleType) -> dict:
  """Public functions and classes defined in `module` itself (not imported into it)."""
  return {name: value for name, value in vars(module).items()
          if not name.startswith("_")
          and (inspect.isfunction(value) or inspect.isclass(value))
          and value.__module__ == module.__name__}


def has_example(value) -> bool:
  """Whether the object's OWN docstring holds a doctest example.

  `__doc__`, not `inspect.getdoc`: the latter hands a class without a docstring its base
  class's, whose example would then count for it.
  """
  return bool(doctest.DocTestParser().get_examples(value.__doc__ or ""))


def without_examples(module: types.ModuleType) -> list:
  return sorted(name for name, value in public_objects(module).items() if not has_example(value))


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
  module = importlib.import_module(name)
  suite = doctest.DocTestSuite(module, globs={}, optionflags=OPTIONS)
  if public_objects(module):
    assert suite.countTestCases() > 0, f"{name} has public losses/metrics but no example"
  report = io.StringIO()
  result = unittest.TextTestRunner(stream=report, verbosity=0).run(suite)
  assert result.wasSuccessful(), report.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_every_public_loss_and_metric_has_an_example(name):
  assert without_examples(importlib.import_module(name)) == []


def test_a_public_function_without_an_example_is_caught():

  def new_loss(labels, logits):
    """A loss whose docstring shows no call."""
    del labels, logits

  def _private_helper():
    pass

  class Documented:
    """A loss class with an example.

    >>> Documented.__name__
    'Documented'
    """

  class Undocumented(Documented):
    pass

  module = types.ModuleType("fake_losses")
  for value in (new_loss, _private_helper, Documented, Undocumented):
    value.__module__ = module.__name__
    setattr(module, value.__name__, value)
  module.imported = doctest.testmod  # defined elsewhere: that module's business
  assert without_examples(module) == ["Undocumented", "new_loss"]
