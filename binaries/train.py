r"""Trains any registered method, built-in or a plugin's, by name; writes results.json.

  tfrankcf_train --method=listmle --epochs=44
  tfrankcf_train --method=vae --protocol=strong --epochs=100
  TFRANKCF_PLUGINS=my_methods.py tfrankcf_train --method=my_method

--method is a name of `compare --methods` (a method or one of its variants:
the variant fixes some settings, e.g. `listmle` the backbone and the loss);
the method's own flags are its settings' (`--method=<name> --help` lists
them). Plugins: the modules or .py files in $TFRANKCF_PLUGINS (comma- or
os.pathsep-separated) declare methods (`tfrankcf.methods.registry`).
"""

from absl import flags

from tfrankcf import api
from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

flags.DEFINE_string("method", None, "The method to train: a name of `compare --methods`.")
cli.help_group("method", ["method"])

FLAGS = flags.FLAGS
_SELECTED = []  # (the entry whose flags this process defined, their names)


def define(argv) -> None:
  """Defines the flags of the --method entry (flagfiles included)."""
  name = cli.preparse(argv, ("method",)).get("method")
  if name is None:
    if not cli.wants_help(argv):
      raise InputError("--method is required; choose from " + ", ".join(api.method_names()))
    return
  entry = registry.get(name)
  if _SELECTED:  # selected again in the same process (tests): the new entry's flags only
    if _SELECTED[0][0] == entry:
      return
    common_flags.undefine_method_flags(_SELECTED.pop()[1])
  names = common_flags.define_method_flags(entry.spec, skip=tuple(entry.variant.values),
                                           title=f"{entry.label} (--method={entry.name})")
  _SELECTED.append((entry, names))


def help_groups() -> list:
  """Without --method: the registered names, and each spec's flags with its defaults."""
  if _SELECTED:
    return []
  return common_flags.spec_help_groups(
      [(spec, "--method=" + "|".join(variant.name for variant in spec.variants))
       for spec in registry.specs()])


def main(argv):
  del argv
  entry = _SELECTED[0][0]
  api.train(common_flags.run_config(entry.spec, dict(entry.variant.values)))


def entry_point():
  cli.run(main, define)


if __name__ == "__main__":
  entry_point()
