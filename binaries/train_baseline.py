r"""Trains and evaluates a baseline on one split; writes <output_dir>/results.json.

  train_baseline --method=ease --dataset=ml100k --protocol=loo_sampled
  train_baseline --method=itempop --dataset=/path/ratings.csv --protocol=strong
  train_baseline --method=vae --protocol=strong --epochs=100
  train_baseline --backbone=graphrec --loss=listmle --epochs=44

Closed-form baselines (itempop, ease) ignore --epochs and --batch_size; EASE
chooses its L2 weight on the validation users. The autoencoder actors (vae,
dae, mf, warp) and MF-BPR (bpr) train with their own objective; a pairwise
backbone (--backbone=graphrec|neumf) trains with one --loss on sampled lists
(log loss or a TF-Ranking loss). Trained methods choose the epoch on
validation users.
"""

from absl import flags

from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

CLOSED_FORM = ("itempop", "ease")
AUTOENCODERS = ("vae", "dae", "mf", "warp")
PAIRWISE = ("bpr", "listwise")
LOSSES = ("logloss", "listmle", "approx_ndcg", "gumbel_approx_ndcg", "neural_sort",
          "softmax", "pairwise_logistic")

flags.DEFINE_enum("method", "ease", list(CLOSED_FORM + AUTOENCODERS + PAIRWISE),
                  "Baseline to run ('listwise' = --backbone trained with --loss; "
                  "implied by --backbone).")
flags.DEFINE_enum("loss", "logloss", list(LOSSES),
                  "Loss of a --backbone on sampled lists (logloss or TF-Ranking's).")
flags.DEFINE_float("weight_decay", 0.0,
                   "--backbone: decoupled weight decay per step (0: plain Adam, as the "
                   "GuidedRec code's TF-Ranking baselines).")
flags.DEFINE_list("ease_l2_grid", [],
                  "EASE: L2 weights to choose from on validation users (default "
                  "10,50,100,200,500,1000,2000,5000).")
common_flags.define_actor_flags()
common_flags.define_mf_flags()
common_flags.define_backbone_flags()

FLAGS = flags.FLAGS


def main(argv):
  del argv
  method = FLAGS.method
  if FLAGS.backbone and not FLAGS["method"].present:
    method = "listwise"
  if method in CLOSED_FORM:
    params = {}
    if method == "ease" and FLAGS.ease_l2_grid:
      params["l2_grid"] = [float(v) for v in FLAGS.ease_l2_grid]
    run.run_baseline(common_flags.run_config(method, params))
    return
  # pylint: disable=g-import-not-at-top
  if method == "listwise":
    from tfrankcf.methods.supervised import build_supervised
    params = common_flags.backbone_params()
    params.update(loss=FLAGS.loss, learning_rate=FLAGS.learning_rate or 1e-3,
                  weight_decay=FLAGS.weight_decay)
    name = f"{params['backbone']}_{FLAGS.loss}"
    run.run_trainable(common_flags.run_config(name, params), build_supervised)
    return
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
