"""A binary's module imported as in a fresh process, for tests that load several binaries.

Each binary defines its flags at import, so importing two in one process would
define a flag twice: `load` first drops this package's flags and the modules
that define them. The test scripts run this file's source in their subprocess.
"""

import importlib
import sys

from absl import flags


def load(name):
  # A fresh process's flags: drop this package's flags and the modules that define them.
  for module, module_flags in list(flags.FLAGS.flags_by_module_dict().items()):
    if module.startswith("tfrankcf."):
      for flag in list(module_flags):
        if flag.name in flags.FLAGS:
          delattr(flags.FLAGS, flag.name)
  for module in [m for m in sys.modules if m.startswith("tfrankcf.binaries.")
                 or m in ("tfrankcf.training.cli", "tfrankcf.training.flags")]:
    del sys.modules[module]
  training = importlib.import_module("tfrankcf.training")
  for name_ in ("cli", "flags"):
    training.__dict__.pop(name_, None)
  return importlib.import_module("tfrankcf.binaries." + name)
