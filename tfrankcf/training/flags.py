"""The flags every binary shares (the DEVELOPERS.md contract), defined once.

Binaries import this module and define their method's flags with
`define_method_flags(spec)`: generated from the spec's config dataclass
(`tfrankcf.training.config_flags`), so a setting's default and help live in
the config only. `run_config(spec)` builds the typed `RunConfig` of the parsed
command line. Every flag is grouped for `--help` (`cli.help_group`), and a
value that would fail later is refused when the command line is parsed
(bounds and validators: one line, exit 2).
"""

from absl import flags

from tfrankcf.training import cli
from tfrankcf.training import config_flags
from tfrankcf.training.config import RunConfig

flags.DEFINE_string(
    "dataset", "ml100k",
    "A registered dataset name (ml100k is embedded; ml1m, ml20m, netflix, msd, "
    "pinterest, yelp, gowalla, movietweetings are downloaded into --data_dir), "
    "a path to a user-item interactions file, or a Mult-VAE split directory.")
flags.DEFINE_string("data_dir", None,
                    "Download and split cache (default $TFRANKCF_DATA or ~/.cache/tfrankcf).")
flags.DEFINE_enum("protocol", "loo_sampled", ["loo_sampled", "loo_full", "strong", "given"],
                  "Evaluation protocol.")
flags.DEFINE_integer("seed", 0, "Seed of the split and of every stochastic part of training.",
                     lower_bound=0)
flags.DEFINE_integer("split_seed", None,
                     "Seed of the split alone (default --seed): fixes one split while --seed "
                     "varies training, so per-user tests pair across seeds.", lower_bound=0)
flags.DEFINE_integer("batch_size", 0, "Training batch size (0: the method's default).",
                     lower_bound=0)
flags.DEFINE_string("output_dir", "",
                    "Where results.json, checkpoints and TensorBoard summaries go "
                    "(default runs/<method>_<dataset>_<protocol>_s<seed>).")
flags.DEFINE_bool("overwrite", False,
                  "Start afresh in an --output_dir that holds a run: remove its results, "
                  "checkpoints and TensorBoard files first (other files stay). Without it a "
                  "run resumes only its own run and refuses another's.")
flags.DEFINE_string("sep", None, "Column separator of an interactions file (default: detected).")
flags.DEFINE_string("test_file", None,
                    "A fixed test split for a file dataset (--protocol=given only; default: "
                    "none).")
flags.DEFINE_integer("eval_every", 1, "Evaluate on validation users every N epochs.",
                     lower_bound=1)
flags.DEFINE_integer("early_stopping_patience", 0,
                     "Stop after this many validations without a better selection metric "
                     "(0: off); staged methods run all their stages first.", lower_bound=0)
flags.DEFINE_integer("eval_batch_size", 1000, "Users per evaluation batch.", lower_bound=1)
flags.DEFINE_integer("steps_per_execution", 1,
                     "Training steps per tf.function call (Keras compile): larger values "
                     "cut per-step Python overhead for small models; same results.",
                     lower_bound=1)
flags.DEFINE_bool("jit_compile", False,
                  "Compile the training step with XLA: fuses the many small ops of "
                  "ID-based backbones (GuidedRec on ml100k: 2.6x faster steps).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy: one device, MirroredStrategy over the local "
                  "GPUs (or CPU devices), or MultiWorkerMirroredStrategy across the "
                  "machines of TF_CONFIG.")
flags.DEFINE_string("export_dir", "",
                    "After training, export the selected model as a SavedModel here "
                    "(serving_default: top-K items of a batch of histories).")
flags.DEFINE_integer("export_top_k", 100,
                     "Default K of the exported serving signature.", lower_bound=1)
flags.DEFINE_float("positive_threshold", None,
                   "strong: ratings >= this are positives (default: the dataset's, "
                   "4 for MovieLens/Netflix; every row for files without a rating).")
flags.DEFINE_float("heldout_users", None,
                   "strong: validation (and again test) users, a count or a fraction "
                   "(default: 600 for ml1m, the papers' counts for ml20m/netflix/msd, else 0.1).")
flags.DEFINE_integer("num_negatives", 99, "loo_sampled: sampled negatives per held-out item.",
                     lower_bound=1)
flags.register_validator("heldout_users", lambda value: value is None or value > 0,
                         message="must be a count (>= 1) or a fraction (between 0 and 1)")


def _check_test_file(values: dict) -> bool:
  if values["test_file"] and values["protocol"] != "given":
    raise flags.ValidationError(
        f"--test_file is the fixed test split of --protocol=given; got "
        f"--protocol={values['protocol']} (drop --test_file, or use --protocol=given)")
  return True


flags.register_multi_flags_validator(["test_file", "protocol"], _check_test_file)

cli.help_group("data and protocol", [
    "dataset", "data_dir", "protocol", "seed", "split_seed", "sep", "test_file",
    "positive_threshold", "heldout_users", "num_negatives"])
cli.help_group("training", [
    "epochs", "batch_size", "eval_every", "eval_batch_size", "early_stopping_patience",
    "steps_per_execution", "jit_compile"])
cli.help_group("output, serving and distribution", [
    "output_dir", "overwrite", "export_dir", "export_top_k", "strategy"], last=True)

FLAGS = flags.FLAGS


def define_epochs_flag(help_text: str = "Training epochs.", lower_bound: int | None = 1,
                       default: int = 1) -> None:
  """--epochs, for the binaries of methods trained for a number of epochs."""
  flags.DEFINE_integer("epochs", default, help_text, lower_bound=lower_bound)


def validate_stages(names) -> None:
  """Refuses stage lengths (flags `names`, each >= 0) that add up to no epoch at all."""

  def check(values):
    if sum(values[name] for name in names) < 1:
      raise flags.ValidationError(
          " + ".join(f"--{name}" for name in names) + " is 0 epochs: the run would train "
          "nothing; give a stage at least 1 epoch")
    return True

  flags.register_multi_flags_validator(list(names), check)


def help_title(spec, selector: str = "") -> str:
  """The --help group of a spec's flags (`selector`: how the binary selects it)."""
  return spec.help_title or (f"{spec.label} ({selector})" if selector else spec.label)


def define_method_flags(spec, skip=(), title: str | None = None, epochs: bool = True,
                        flag_values=FLAGS) -> list[str]:
  """Defines the flags of `spec`'s config (but `skip`'s fields), grouped for --help.

  A staged spec's --epochs is an alias of its last stage's flag (so `compare
  --epochs=N` reaches every method) and its stages must add up to an epoch;
  otherwise --epochs is defined (`epochs`) with the spec's default. The spec's
  protocol and batch-size defaults become the binary's.
  """
  names = config_flags.define_config_flags(spec.config, flag_values, skip=skip)
  by_field = {field.field.name: field.name for field in config_flags.field_flags(spec.config)}
  if spec.stages:
    stage_flags = [by_field[name] for name in spec.stages]
    validate_stages(stage_flags)
    flags.DEFINE_alias("epochs", stage_flags[-1], flag_values=flag_values)
    names.append("epochs")
  elif epochs and "epochs" not in flag_values:
    define_epochs_flag(default=spec.default_epochs or 1)
    names.append("epochs")
  if spec.default_protocol:
    flag_values.set_default("protocol", spec.default_protocol)
  if spec.default_batch_size:
    flag_values.set_default("batch_size", spec.default_batch_size)
  if flag_values is FLAGS:
    cli.help_group(title or help_title(spec), [name for name in names if name != "epochs"])
  return names


def undefine_method_flags(names) -> None:
  """Removes flags `define_method_flags` defined (a binary re-selecting its method in-process)."""
  for name in names:
    if name in FLAGS:
      delattr(FLAGS, name)


def method_config(spec, fixed=None):
  """The typed config of the parsed flags (`fixed`: values the binary's selection fixes)."""
  return config_flags.config_from_flags(spec.config, FLAGS, fixed=fixed)


def run_config(spec, fixed=None) -> RunConfig:
  """The `RunConfig` of the parsed command line for `spec` (its variant named by the config).

  The spec's `check` runs first (before any data is read); a staged method's epochs
  are its stages' sum.
  """
  config = method_config(spec, fixed)
  if spec.check is not None:
    spec.check(config)
  return RunConfig(
      method=spec.variant_of(config).name, dataset=FLAGS.dataset, protocol=FLAGS.protocol,
      seed=FLAGS.seed, split_seed=FLAGS.split_seed,
      epochs=spec.run_epochs(config, FLAGS.epochs if "epochs" in FLAGS else 1),
      batch_size=FLAGS.batch_size,
      output_dir=FLAGS.output_dir, overwrite=FLAGS.overwrite, data_dir=FLAGS.data_dir,
      sep=FLAGS.sep,
      test_file=FLAGS.test_file, eval_every=FLAGS.eval_every,
      early_stopping_patience=FLAGS.early_stopping_patience,
      eval_batch_size=FLAGS.eval_batch_size,
      positive_threshold=FLAGS.positive_threshold,
      heldout_users=FLAGS.heldout_users, num_negatives=FLAGS.num_negatives,
      steps_per_execution=FLAGS.steps_per_execution, jit_compile=FLAGS.jit_compile,
      strategy=FLAGS.strategy, export_dir=FLAGS.export_dir, export_top_k=FLAGS.export_top_k,
      method_config=config)


def spec_help_groups(specs_and_selectors, skip=()) -> list:
  """[(title, flags)] of each spec's flags with its own defaults, for a --help without a method.

  Each spec's flags are defined in a scratch `FlagValues` (a flag of several specs,
  e.g. --embedding_dim, shows each spec's default in its group).
  """
  groups = []
  for spec, selector in specs_and_selectors:
    scratch = flags.FlagValues()
    config_flags.define_config_flags(spec.config, scratch, skip=skip)
    groups.append((help_title(spec, selector), [scratch[name] for name in scratch]))
  return groups
