r"""Compares methods over seeds on one split; writes comparison.md/.csv/.json and curves.

  compare --dataset=ml100k --protocol=loo_sampled --seeds=3 \
      --methods=itempop,ease,logloss,listmle,approx_ndcg,guidedrec
  compare --dataset=ml100k --protocol=strong --methods=itempop,ease,vae,vae_listmle,ract \
      --seeds=5 --method_flags=ract:--actor_epochs=50
  compare --methods=ease,logloss --seeds=2 --epochs=5 --extra_flags=--eval_every=1
  compare --dataset=path/to/ml-1m-vaecf --protocol=strong --methods=ease,vae,ract --rerun=ract

Each (method, seed) runs the method's binary into
<output_dir>/runs/<method>/s<seed> (closed-form ItemPop and EASE: one fit,
runs/<method>/fit), all with --split_seed, so every method sees one split and
per-user tests pair across seeds (test users are paired by their identity
on the split, under every protocol). A run whose results.json exists is
reused: rerunning the command recomputes nothing and retries only failed
runs. --rerun=METHOD[,METHOD] runs those methods' runs afresh (their
directories are replaced), --force every run; drop the flag to resume.

Each method starts from its flagfile configs/<family>_*.cfg that sets this
--protocol and the --dataset this comparison's --dataset is: a registered
name is itself; a path is the registered dataset whose release file it is
(u.data -> ml100k, ratings.dat -> ml1m, ratings.csv -> ml20m, by the file
name) or, for a Mult-VAE split directory, the registered dataset its
directory name names (ml-1m-vaecf -> ml1m). The run then gets this --dataset
after the flagfile's (later flags win). One line per method at the start says
which flagfile it got, or none and why. --epochs and --batch_size given here
override the flagfile, then --extra_flags (every run) and --method_flags (one
method's runs). The paired tests are against the best baseline. Exit code 1
when a run failed (the reports are still written and list it), 2 for bad
input.
"""

import os
import sys

from absl import flags

from tfrankcf.comparison import METHODS, Settings, run_comparison
from tfrankcf.comparison.commands import DEFAULT_CONFIGS_DIR, parse_method_flags
from tfrankcf.training import cli

flags.DEFINE_list("methods", None, "Methods to compare, any of: " + ", ".join(METHODS) + ".")
flags.DEFINE_integer("seeds", 3, "Training seeds 0..N-1 per trained method.")
flags.DEFINE_integer("split_seed", 0, "Seed of the one split every run uses.")
flags.DEFINE_string("dataset", "ml100k", "Dataset name, file or Mult-VAE split directory.")
flags.DEFINE_enum("protocol", "loo_sampled", ["loo_sampled", "loo_full", "strong", "given"],
                  "Evaluation protocol.")
flags.DEFINE_string("data_dir", None, "Download and split cache of every run.")
flags.DEFINE_string("output_dir", "",
                    "Where the runs and reports go (default runs/compare_<dataset>_<protocol>).")
flags.DEFINE_integer("epochs", None,
                     "Epochs of every trained method, over its flagfile's (default: the "
                     "flagfile's, the paper's for the dataset, or 200). For RaCT, CF-SFL and "
                     "APR it is their own stage (--ac_epochs, --joint_epochs, --adv_epochs); "
                     "their pre-training stages keep the flagfile's (--method_flags).")
flags.DEFINE_integer("batch_size", None, "Batch size of every trained method (default: each "
                     "method's flagfile or own default).")
flags.DEFINE_multi_string("extra_flags", [],
                          "A flag for every run, e.g. --extra_flags=--eval_every=5 (repeat "
                          "for more).")
flags.DEFINE_multi_string("method_flags", [],
                          "METHOD:--flag=value for one method's runs, e.g. "
                          "--method_flags=guidedrec:--beta=0.5 (repeat for more).")
flags.DEFINE_integer("jobs", 1,
                     "Runs at a time (the first alone: it makes the split). Above 1, runs "
                     "share the cores, so their timings are not comparable to one-job ones.",
                     lower_bound=1)
flags.DEFINE_list("rerun", [], "Methods whose runs are run afresh (their directories "
                  "replaced) instead of reused, e.g. --rerun=vae,ract.")
flags.DEFINE_bool("force", False, "Run every run afresh (replace every run directory).")
flags.DEFINE_string("configs_dir", DEFAULT_CONFIGS_DIR,
                    "Where method flagfiles are looked up (empty: use none).")
flags.mark_flag_as_required("methods")

FLAGS = flags.FLAGS


def main(argv):
  del argv
  dataset = os.path.basename(os.path.normpath(FLAGS.dataset))
  settings = Settings(
      dataset=FLAGS.dataset, protocol=FLAGS.protocol,
      output_dir=FLAGS.output_dir or os.path.join("runs",
                                                  f"compare_{dataset}_{FLAGS.protocol}"),
      split_seed=FLAGS.split_seed, data_dir=FLAGS.data_dir, epochs=FLAGS.epochs,
      batch_size=FLAGS.batch_size, extra_flags=tuple(FLAGS.extra_flags),
      method_flags=parse_method_flags(FLAGS.method_flags), configs_dir=FLAGS.configs_dir)
  outcome = run_comparison(FLAGS.methods, list(range(FLAGS.seeds)), settings,
                           argv=sys.argv, jobs=FLAGS.jobs, rerun=FLAGS.rerun,
                           force=FLAGS.force)
  if outcome["failed"]:
    sys.exit(1)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
