"""The flags every binary shares (the DEVELOPERS.md contract), defined once.

Binaries import this module, define their method's own flags, may change a
default with `flags.FLAGS.set_default`, and build their `RunConfig` with
`run_config(method, params)`.
"""

from absl import flags

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
flags.DEFINE_integer("seed", 0, "Seed of the split and of every stochastic part of training.")
flags.DEFINE_integer("epochs", 1, "Training epochs (ignored by closed-form baselines).")
flags.DEFINE_integer("batch_size", 0, "Training batch size (0: the method's default).")
flags.DEFINE_string("output_dir", "",
                    "Where results.json, checkpoints and TensorBoard summaries go "
                    "(default runs/<method>_<dataset>_<protocol>_s<seed>).")
flags.DEFINE_string("sep", None, "Column separator of an interactions file (default: detected).")
flags.DEFINE_string("test_file", None, "A fixed test split for a file dataset (protocol 'given').")
flags.DEFINE_integer("eval_every", 1, "Evaluate on validation users every N epochs.")
flags.DEFINE_integer("eval_batch_size", 1000, "Users per evaluation batch.")
flags.DEFINE_float("positive_threshold", None,
                   "strong: ratings >= this are positives (default: the dataset's, "
                   "4 for MovieLens/Netflix; every row for files without a rating).")
flags.DEFINE_float("heldout_users", 0.1,
                   "strong: validation (and again test) users, a count or a fraction.")
flags.DEFINE_integer("num_negatives", 99, "loo_sampled: sampled negatives per held-out item.")

FLAGS = flags.FLAGS


def run_config(method: str, params: dict | None = None) -> RunConfig:
  """The `RunConfig` of the parsed command line."""
  return RunConfig(
      method=method, dataset=FLAGS.dataset, protocol=FLAGS.protocol,
      seed=FLAGS.seed, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
      output_dir=FLAGS.output_dir, data_dir=FLAGS.data_dir, sep=FLAGS.sep,
      test_file=FLAGS.test_file, eval_every=FLAGS.eval_every,
      eval_batch_size=FLAGS.eval_batch_size,
      positive_threshold=FLAGS.positive_threshold,
      heldout_users=FLAGS.heldout_users, num_negatives=FLAGS.num_negatives,
      params=dict(params or {}))
