r"""Exports a run's model as a SavedModel from its output directory (finished or interrupted).

  export_model --run_dir=runs/vae_ml100k_strong_s0 --export_dir=exports/vae
  export_model --run_dir=runs/bpr_ml100k_loo_sampled_s0 --export_dir=exports/bpr/1 \
      --checkpoint=latest --top_k=20
  export_model --run_dir=runs/ease --export_dir=exports/ease --item_names=ml-100k/u.item

The method is rebuilt from the run's recorded configuration (results.json, or
config.json while it trains) on the same cached split, with the weights of
the best validation epoch (best/) or the latest epoch (checkpoints/); EASE
and ItemPop are refitted. The export is the one `--export_dir` writes at the
end of training: signatures serving_default (top --top_k items) and top_k (K
an input), with the items' names from --item_names (`id<TAB>name` lines,
ML-100K's u.item or ML-1M's movies.dat) as the output `item_names`. (Not
named `export`: that is a shell builtin.)
"""

from absl import flags

from tfrankcf.serving import from_run, item_names
from tfrankcf.training import cli

flags.DEFINE_string("run_dir", None, "Output directory of a run (its --output_dir).")
flags.DEFINE_string("export_dir", None,
                    "Where the SavedModel goes (replaced if it is one; e.g. models/ease/1 "
                    "for TF Serving).")
flags.DEFINE_integer("top_k", None, "K of serving_default (default: the run's --export_top_k).")
flags.DEFINE_enum("checkpoint", "best", list(from_run.CHECKPOINTS),
                  "The best validation epoch's weights or the latest epoch's.")
flags.DEFINE_string("item_names", None,
                    "Item names file, kept in the export: 'id<TAB>name' lines, ML-100K's u.item "
                    "or ML-1M's movies.dat.")
flags.mark_flags_as_required(["run_dir", "export_dir"])

FLAGS = flags.FLAGS


def main(argv):
  del argv
  names = None if FLAGS.item_names is None else item_names.read_item_names(FLAGS.item_names)
  path = from_run.export_run(FLAGS.run_dir, FLAGS.export_dir, top_k=FLAGS.top_k,
                             checkpoint=FLAGS.checkpoint, item_names=names)
  print(f"saved model: {path}")
  if names is not None:
    print(f"item names: {len(names.names)} ({names.format}) from {names.path}")


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
