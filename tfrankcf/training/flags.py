"""The flags every binary shares (the DEVELOPERS.md contract), defined once.

Binaries import this module, define the shared flags they read with the
`define_*` functions and their method's own flags, may change a default with
`flags.FLAGS.set_default`, and build their `RunConfig` with
`run_config(method, params)`. Every flag is grouped for `--help`
(`cli.help_group`), and a value that would fail later is refused when the
command line is parsed (bounds and validators: one line, exit 2).
"""

from absl import flags

from tfrankcf.training import cli
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

EMBEDDING_HELP = ("Embedding size of ID-based models (default: 64 MF-BPR/APR; GraphRec 20, "
                  "paper App. B: 20 ml100k, 45 ml1m, 10 movietweetings).")


def define_epochs_flag(help_text: str = "Training epochs.", lower_bound: int | None = 1) -> None:
  """--epochs, for the binaries that read it (RaCT, CF-SFL and APR take stage lengths)."""
  flags.DEFINE_integer("epochs", 1, help_text, lower_bound=lower_bound)


def alias_epochs(stage: str) -> None:
  """--epochs of a staged binary: the length of the method's own stage `stage`.

  Every binary takes --epochs (so `compare --epochs=N` reaches every method); a
  staged method's pre-training stages keep their own flags.
  """
  flags.DEFINE_alias("epochs", stage)


def define_embedding_flag(help_text: str = EMBEDDING_HELP) -> None:
  """--embedding_dim (once, for the binaries of several ID-based models)."""
  if "embedding_dim" not in FLAGS:
    flags.DEFINE_integer("embedding_dim", None, help_text, lower_bound=1)


def validate_list(name: str, parse, what: str, valid=lambda value: True) -> None:
  """Refuses a --name list with an item that `parse` rejects or that is not `valid`."""

  def check(values):
    for value in values:
      try:
        ok = valid(parse(value))
      except ValueError:
        ok = False
      if not ok:
        raise flags.ValidationError(f"--{name}={','.join(values)}: {value!r} is not {what}")
    return True

  flags.register_validator(name, check)


def validate_stages(names) -> None:
  """Refuses stage lengths (flags `names`, each >= 0) that add up to no epoch at all."""

  def check(values):
    if sum(values[name] for name in names) < 1:
      raise flags.ValidationError(
          " + ".join(f"--{name}" for name in names) + " is 0 epochs: the run would train "
          "nothing; give a stage at least 1 epoch")
    return True

  flags.register_multi_flags_validator(list(names), check)


def run_config(method: str, params: dict | None = None, epochs: int | None = None) -> RunConfig:
  """The `RunConfig` of the parsed command line (`epochs`: a staged method's total)."""
  return RunConfig(
      method=method, dataset=FLAGS.dataset, protocol=FLAGS.protocol,
      seed=FLAGS.seed, split_seed=FLAGS.split_seed,
      epochs=FLAGS.epochs if epochs is None else epochs,
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
      params=dict(params or {}))


def define_actor_flags(selectable: bool = True) -> None:
  """Flags of the autoencoder actors (Mult-VAE, Mult-DAE, MF, WARP), shared by binaries.

  `selectable`: define --actor (RaCT, CF-SFL); train_baseline picks it with --method.
  """
  from tfrankcf.backbones.autoencoders import ACTORS  # pylint: disable=g-import-not-at-top
  if selectable:
    flags.DEFINE_enum("actor", "vae", list(ACTORS), "Autoencoder actor (RaCT Table 2).")
  flags.DEFINE_float("beta_max", 0.2, "Cap of the KL weight (0.2 ML-20M/Netflix, 0.1 MSD).",
                     lower_bound=0)
  flags.DEFINE_integer("anneal_steps", 200_000,
                       "KL weight = min(batch / anneal_steps, beta_max), per batch (code).",
                       lower_bound=1)
  flags.DEFINE_integer("anneal_epochs", 0,
                       "If > 0: KL weight = beta_max * min(1, epoch / anneal_epochs) "
                       "(the paper's epoch schedule) instead.", lower_bound=0)
  flags.DEFINE_integer("dae_hidden", 200, "Mult-DAE hidden units (200 vae_cf, 600 RaCT F.4).",
                       lower_bound=1)
  flags.DEFINE_float("actor_learning_rate", 1e-3, "Adam learning rate of the actor.",
                     lower_bound=0)
  cli.help_group("actor", ["actor", "beta_max", "anneal_steps", "anneal_epochs", "dae_hidden",
                           "actor_learning_rate"])


def actor_params(actor: str | None = None) -> dict:
  """The actor flags as `RunConfig.params` entries (`actor` overrides --actor)."""
  actor = actor or FLAGS.actor
  params = {"actor": actor, "beta_max": FLAGS.beta_max, "anneal_steps": FLAGS.anneal_steps,
            "anneal_epochs": FLAGS.anneal_epochs,
            "actor_learning_rate": FLAGS.actor_learning_rate}
  if actor == "dae":
    params["dae_hidden"] = FLAGS.dae_hidden
  return params


MF_LEARNING_RATE = 0.05  # AMF.py: Adagrad 0.05
MF_EMBEDDING_DIM = 64  # AMF.py
GRAPHREC_EMBEDDING_DIM = 20  # GuidedRec App. B, ML-100K
BACKBONE_LIST_SIZE = 10  # GuidedRec code: 5 positives + 5 negatives
MF_FLAGS = ("embedding_dim", "learning_rate", "l2", "loss_reduction", "drop_remainder",
            "robustness_eps", "robustness_max_batches")


def define_mf_flags() -> None:
  """Flags of MF-BPR (and APR on top of it): the authors' AMF.py defaults."""
  from tfrankcf.losses.pairwise import REDUCTIONS  # pylint: disable=g-import-not-at-top
  define_embedding_flag()
  flags.DEFINE_float("learning_rate", None,
                     "Learning rate (default: Adagrad 0.05 for MF-BPR/APR, Adam 1e-3 for a "
                     "--backbone).", lower_bound=0)
  flags.DEFINE_float("l2", 0.0, "L2 weight on the batch's embedding rows (original `reg`).",
                     lower_bound=0)
  flags.DEFINE_enum("loss_reduction", "sum", list(REDUCTIONS),
                    "Batch reduction of the BPR losses (the original sums).")
  flags.DEFINE_bool("drop_remainder", True,
                    "Drop each epoch's last incomplete batch (original).")
  flags.DEFINE_list("robustness_eps", ["0.5", "1", "2"],
                    "Perturbation norms of the robustness study of the trained model (APR "
                    "paper Table 2; empty: no study).")
  validate_list("robustness_eps", float, "a non-negative number", lambda eps: eps >= 0)
  flags.DEFINE_integer("robustness_max_batches", None,
                       "Cap on the study's training triplets, in batches of 4096 "
                       "(default all).", lower_bound=1)
  cli.help_group("MF-BPR", MF_FLAGS)


def mf_params() -> dict:
  """The MF-BPR flags as `RunConfig.params` entries."""
  params = {name: FLAGS[name].value for name in (
      "l2", "loss_reduction", "drop_remainder", "robustness_max_batches")}
  params["embedding_dim"] = FLAGS.embedding_dim or MF_EMBEDDING_DIM
  params["learning_rate"] = FLAGS.learning_rate or MF_LEARNING_RATE
  params["robustness_eps"] = [float(v) for v in FLAGS.robustness_eps]
  return params


BACKBONE_FLAGS = ("backbone", "embedding_dim", "graph_features", "neumf_layers", "gmf_dim",
                  "list_size", "batches_per_epoch")


def define_backbone_flags() -> None:
  """Flags of the pairwise backbones (GraphRec, NeuMF) and their list-wise batches."""
  define_embedding_flag()
  flags.DEFINE_enum("backbone", None, ["graphrec", "neumf"],
                    "Pairwise backbone scoring (user, item) pairs (default graphrec).")
  flags.DEFINE_bool("graph_features", False,
                    "GraphRec with the normalised adjacency rows and degree as features "
                    "(paper) instead of one-hot ids only (the authors' ml100k script).")
  flags.DEFINE_list("neumf_layers", ["16", "16", "8", "8"],
                    "NeuMF MLP embedding size then layers (App. B: 16,16,8,8 ml100k/MVT; "
                    "64,64,32,16 ml1m).")
  validate_list("neumf_layers", int, "a positive integer", lambda units: units >= 1)
  flags.DEFINE_integer("gmf_dim", 8, "NeuMF GMF factors.", lower_bound=1)
  flags.DEFINE_integer("list_size", None,
                       "Items per sampled list, half positives (default 10 for a --backbone; "
                       "100 for an autoencoder trained with a TF-Ranking --loss).",
                       lower_bound=2)
  flags.DEFINE_integer("batches_per_epoch", 0,
                       "List-wise batches per epoch (0: interactions / positives per batch).",
                       lower_bound=0)
  cli.help_group("pairwise backbone (GraphRec, NeuMF)", BACKBONE_FLAGS)


def backbone_params() -> dict:
  """The backbone flags as `RunConfig.params` entries (`BackboneConfig` fields)."""
  return {"backbone": FLAGS.backbone or "graphrec",
          "embedding_dim": FLAGS.embedding_dim or GRAPHREC_EMBEDDING_DIM,
          "graph_features": FLAGS.graph_features, "gmf_dim": FLAGS.gmf_dim,
          "mlp_layers": [int(v) for v in FLAGS.neumf_layers],
          "list_size": FLAGS.list_size or BACKBONE_LIST_SIZE,
          "batches_per_epoch": FLAGS.batches_per_epoch}
