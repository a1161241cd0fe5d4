r"""Trains and evaluates a baseline on one split; writes <output_dir>/results.json.

  train_baseline --method=ease --dataset=ml100k --protocol=loo_sampled
  train_baseline --method=itempop --dataset=/path/ratings.csv --protocol=strong
  train_baseline --method=vae --protocol=strong --epochs=100

Closed-form baselines (itempop, ease) ignore --epochs and --batch_size; EASE
chooses its L2 weight on the validation users. The autoencoder actors (vae,
dae, mf, warp) and MF-BPR (bpr) train with their own objective, the epoch
chosen on validation.
"""

from absl import flags

from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

CLOSED_FORM = ("itempop", "ease")
AUTOENCODERS = ("vae", "dae", "mf", "warp")
PAIRWISE = ("bpr",)

flags.DEFINE_enum("method", "ease", list(CLOSED_FORM + AUTOENCODERS + PAIRWISE),
                  "Baseline to run.")
flags.DEFINE_list("ease_l2_grid", [],
                  "EASE: L2 weights to choose from on validation users (default "
                  "10,50,100,200,500,1000,2000,5000).")
common_flags.define_actor_flags()
common_flags.define_mf_flags()

FLAGS = flags.FLAGS


def main(argv):
  del argv
  method = FLAGS.method
  if method in CLOSED_FORM:
    params = {}
    if method == "ease" and FLAGS.ease_l2_grid:
      params["l2_grid"] = [float(v) for v in FLAGS.ease_l2_grid]
    run.run_baseline(common_flags.run_config(method, params))
    return
  # pylint: disable=g-import-not-at-top
  if method == "bpr":
    from tfrankcf.methods.bpr import build_bpr
    run.run_trainable(common_flags.run_config(method, common_flags.mf_params()), build_bpr)
    return
  from tfrankcf.methods.autoencoder import build_autoencoder
  run.run_trainable(common_flags.run_config(method, common_flags.actor_params(method)),
                    build_autoencoder)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
