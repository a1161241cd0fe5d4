r"""Recommends items with an exported SavedModel (tf.saved_model.load only; nothing is rebuilt).

  recommend --saved_model=exports/ease --history=50,172,181 --k=10
  recommend --saved_model=exports/bpr --user=0 --history=50,172
  recommend --saved_model=exports/ease --input=users.tsv --output=recs.tsv
  recommend --saved_model=exports/ease --history=50,172 --item_names=ml-100k/u.item

--input has one user per line, `user_id<TAB>item,item,...` or just
`item,item,...`; ID-based models (MF-BPR, APR, GraphRec, NeuMF, GuidedRec)
need the user id, the user's row in the training matrix. History items are
never recommended; unknown ids are ignored, and a history without any known
item gets the most popular training items, scored by their number of training
users. Names are shown beside the ids: those of --item_names (`id<TAB>name`
lines, ML-100K's u.item or ML-1M's movies.dat), else those kept in the export.
--output writes TSV (line, user, rank, item_id, score, name) or, for a
.json/.jsonl name or --format=jsonl, one JSON object per user; without it a
table is printed.
"""

import os

from absl import flags

from tfrankcf.errors import InputError
from tfrankcf.serving import item_names, recommend
from tfrankcf.training import cli

flags.DEFINE_string("saved_model", None, "SavedModel directory (export_model or --export_dir).")
flags.DEFINE_string("history", None, "Comma-separated raw item ids of one user.")
flags.DEFINE_string("user", None, "User id of that user (ID-based models: training row index).")
flags.DEFINE_string("input", None, "File of users: 'user_id<TAB>item,item,...' or 'item,...'.")
flags.DEFINE_string("output", None, "Write the recommendations here instead of printing them.")
flags.DEFINE_enum("format", None, ["tsv", "jsonl"],
                  "--output format (default: jsonl for a .json/.jsonl name, else tsv).")
flags.DEFINE_integer("k", None, "Items per user (default: the export's K).")
flags.DEFINE_string("item_names", None,
                    "Item names file shown beside the ids (default: the export's names): "
                    "'id<TAB>name' lines, ML-100K's u.item or ML-1M's movies.dat.")
flags.mark_flag_as_required("saved_model")

FLAGS = flags.FLAGS


def main(argv):
  del argv
  if FLAGS.input is not None:
    if FLAGS.history is not None or FLAGS.user is not None:
      raise InputError("give either --input or --history/--user, not both")
    requests, path = recommend.read_requests(FLAGS.input), FLAGS.input
  elif FLAGS.history is not None or FLAGS.user is not None:
    requests, path = [recommend.Request(recommend.parse_items(FLAGS.history or ""),
                                        FLAGS.user)], None
  else:
    raise InputError("nothing to recommend for: give --history (and --user) or --input")
  names = None if FLAGS.item_names is None else item_names.read_item_names(FLAGS.item_names)
  recommender = recommend.Recommender(FLAGS.saved_model, item_names=names)
  results = recommender.recommend(requests, FLAGS.k, path=path)
  if FLAGS.output is None:
    print(recommend.table(requests, results,
                          [recommender.unknown_items(request) for request in requests]))
    return
  output_format = FLAGS.format or (
      "jsonl" if os.path.splitext(FLAGS.output)[1] in (".json", ".jsonl") else "tsv")
  writer = recommend.write_jsonl if output_format == "jsonl" else recommend.write_tsv
  writer(FLAGS.output, requests, results)
  popular = sum(result.fallback for result in results)
  note = (f" ({popular} without a known item got the most popular training items)"
          if popular else "")
  print(f"recommendations for {len(requests)} users: {FLAGS.output}{note}")


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
