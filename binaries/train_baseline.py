r"""Trains and evaluates a baseline on one split; writes <output_dir>/results.json.

  train_baseline --method=ease --dataset=ml100k --protocol=loo_sampled
  train_baseline --method=itempop --dataset=/path/ratings.csv --protocol=strong
  train_baseline --method=vae --protocol=strong --epochs=100
  train_baseline --backbone=graphrec --loss=listmle --epochs=44
  train_baseline --method=vae --loss=approx_ndcg --candidates=all --protocol=strong

Closed-form baselines (itempop, ease) ignore --epochs and --batch_size; EASE
chooses its L2 weight on the validation users. The autoencoder actors (vae,
dae, mf, warp) and MF-BPR (bpr) train with their own objective; an autoencoder
may swap its reconstruction term for a TF-Ranking --loss (on --list_size
sampled items per user, or --candidates=all for approx_ndcg), keeping its
dropout, KL term and annealing. A pairwise backbone (--backbone=graphrec|neumf)
trains with one --loss on sampled lists (log loss or a TF-Ranking loss).
Trained methods choose the epoch on validation users.
"""

from absl import flags

from tfrankcf.backbones.autoencoders import ACTORS
from tfrankcf.backbones.likelihoods import CANDIDATES, LIST_LOSSES, get_reconstruction
from tfrankcf.errors import InputError
from tfrankcf.losses.ranking import LOSSES as BACKBONE_LOSSES
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run
from tfrankcf.training.builders import AUTOENCODERS, CLOSED_FORM

PAIRWISE = ("bpr", "listwise")
AUTOENCODER_LOSSES = ("multinomial",) + LIST_LOSSES
BACKBONE_LOSS = "logloss"  # a --backbone's default
AUTOENCODER_LIST_SIZE = 100

# --help groups: the method's selection, then each method's own flags (the first group
# naming a flag lists it).
cli.help_group("method", ["method", "backbone", "loss", "learning_rate", "embedding_dim",
                          "list_size"])
cli.help_group("EASE (--method=ease)", ["ease_l2_grid", "ease_dtype"])
cli.help_group("autoencoders (--method=vae|dae|mf|warp)", [
    "beta_max", "anneal_steps", "anneal_epochs", "dae_hidden", "actor_learning_rate",
    "candidates", "memory_budget_mb"])
cli.help_group("MF-BPR (--method=bpr)", common_flags.MF_FLAGS)
cli.help_group("pairwise backbones (--backbone=graphrec|neumf)",
               common_flags.BACKBONE_FLAGS + ("weight_decay",))

flags.DEFINE_enum("method", "ease", list(CLOSED_FORM + AUTOENCODERS + PAIRWISE),
                  "Baseline to run ('listwise' = --backbone trained with --loss; "
                  "implied by --backbone).")
flags.DEFINE_enum("loss", None, list(dict.fromkeys(list(BACKBONE_LOSSES) +
                                                   list(AUTOENCODER_LOSSES))),
                  "Loss of a --backbone on sampled lists (default logloss; or TF-Ranking's), "
                  "or reconstruction term of an autoencoder (default its own, multinomial "
                  "for vae/dae; or a TF-Ranking loss).")
flags.DEFINE_enum("candidates", "sampled", list(CANDIDATES),
                  "Autoencoder --loss on sampled lists of --list_size items per user, or on "
                  "all items (approx_ndcg only: the full-catalogue ApproxNDCG).")
flags.DEFINE_float("memory_budget_mb", 1024.0,
                   "--candidates=all: memory bound of the ApproxNDCG's chunks over items.",
                   lower_bound=1)
flags.DEFINE_float("weight_decay", 0.0,
                   "--backbone: decoupled weight decay per step (0: plain Adam, as the "
                   "GuidedRec code's TF-Ranking baselines).", lower_bound=0)
flags.DEFINE_list("ease_l2_grid", [],
                  "EASE: L2 weights to choose from on validation users (default "
                  "10,50,100,200,500,1000,2000,5000).")
common_flags.validate_list("ease_l2_grid", float, "a positive number", lambda l2: l2 > 0)
flags.DEFINE_enum("ease_dtype", "float32", ["float32", "float64"],
                  "EASE: precision of the Gram matrix and its inverse (float32 fits MSD's 41K "
                  "items in 16 GB; float64 for small catalogues where the last digits matter).")
common_flags.define_epochs_flag("Training epochs (>= 1; ignored by itempop and ease).",
                                lower_bound=None)
common_flags.define_actor_flags(selectable=False)  # --method picks the actor
common_flags.define_mf_flags()
common_flags.define_backbone_flags()

FLAGS = flags.FLAGS


def selected_method() -> str:
  """--method, or 'listwise' when --backbone is given without --method."""
  if FLAGS.backbone and not FLAGS["method"].present:
    return "listwise"
  return FLAGS.method


def _check_epochs(values: dict) -> bool:
  method = selected_method()
  if values["epochs"] < 1 and method not in CLOSED_FORM:
    raise flags.ValidationError(
        f"--epochs={values['epochs']}: must be at least 1 ({method} trains for --epochs "
        f"epochs; only {' and '.join(CLOSED_FORM)} ignore it)")
  return True


flags.register_multi_flags_validator(["epochs", "method", "backbone"], _check_epochs)


def main(argv):
  del argv
  method = selected_method()
  if method in CLOSED_FORM:
    params = {}
    if method == "ease" and FLAGS.ease_l2_grid:
      params["l2_grid"] = [float(v) for v in FLAGS.ease_l2_grid]
    if method == "ease" and FLAGS.ease_dtype != "float32":
      params["dtype"] = FLAGS.ease_dtype
    run.run_baseline(common_flags.run_config(method, params))
    return
  # pylint: disable=g-import-not-at-top
  if method == "listwise":
    from tfrankcf.methods.supervised import build_supervised
    loss = FLAGS.loss or BACKBONE_LOSS
    if loss not in BACKBONE_LOSSES or FLAGS.candidates != "sampled":
      raise InputError(f"a --backbone trains on sampled lists with --loss in "
                       f"{', '.join(BACKBONE_LOSSES)}; got --loss={loss} "
                       f"--candidates={FLAGS.candidates}")
    params = common_flags.backbone_params()
    params.update(loss=loss, learning_rate=FLAGS.learning_rate or 1e-3,
                  weight_decay=FLAGS.weight_decay)
    name = f"{params['backbone']}_{loss}"
    run.run_trainable(common_flags.run_config(name, params), build_supervised)
    return
  if method == "bpr":
    from tfrankcf.methods.bpr import build_bpr
    run.run_trainable(common_flags.run_config(method, common_flags.mf_params()), build_bpr)
    return
  from tfrankcf.methods.autoencoder import build_autoencoder
  name, params = autoencoder_run(method)
  run.run_trainable(common_flags.run_config(name, params), build_autoencoder)


def autoencoder_run(method: str) -> tuple[str, dict]:
  """Run name and params of an autoencoder, its --loss checked before any data is read."""
  params = common_flags.actor_params(method)
  loss = FLAGS.loss or ACTORS[method].reconstruction
  if loss not in AUTOENCODER_LOSSES and loss != ACTORS[method].reconstruction:
    raise InputError(f"--loss={loss} is not an autoencoder term; choose from "
                     f"{', '.join(AUTOENCODER_LOSSES)}")
  options = {"candidates": FLAGS.candidates,
             "list_size": FLAGS.list_size or AUTOENCODER_LIST_SIZE,
             "memory_budget_mb": FLAGS.memory_budget_mb}
  get_reconstruction(loss, **options)  # InputError for a bad combination
  if loss == ACTORS[method].reconstruction:
    return method, params
  params.update(reconstruction=loss, **options)
  suffix = "_all" if FLAGS.candidates == "all" else ""
  return f"{method}_{loss}{suffix}", params


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
