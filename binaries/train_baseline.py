r"""Trains and evaluates a baseline on one split; writes <output_dir>/results.json.

  train_baseline --method=ease --dataset=ml100k --protocol=loo_sampled
  train_baseline --method=itempop --dataset=/path/ratings.csv --protocol=strong
"""

from absl import flags

from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

flags.DEFINE_enum("method", "ease", ["itempop", "ease"], "Baseline to run.")
flags.DEFINE_list("ease_l2_grid", [],
                  "EASE: L2 weights to choose from on validation users (default "
                  "10,50,100,200,500,1000,2000,5000).")


def main(argv):
  del argv
  params = {}
  if flags.FLAGS.method == "ease" and flags.FLAGS.ease_l2_grid:
    params["l2_grid"] = [float(v) for v in flags.FLAGS.ease_l2_grid]
  run.run_baseline(common_flags.run_config(flags.FLAGS.method, params))


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
