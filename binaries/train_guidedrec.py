r"""Trains GuidedRec (a learned NDCG surrogate guiding a GraphRec / NeuMF backbone).

  train_guidedrec --flagfile=configs/guidedrec_ml100k.cfg --seed=1
  train_guidedrec --dataset=ml1m --flagfile=configs/guidedrec_ml1m.cfg
  train_guidedrec --stabilizer=none --epochs=200      # RQ3: without the log loss

Per batch (Algorithm 1): a log-loss step on the backbone, the true NDCG@K of
every sampled list, a surrogate step towards it, and a backbone step that
maximises the surrogate's NDCG. Defaults are the authors' ML-100K code; the
paper's variants are flags (see configs/). The epoch is chosen on the
validation item (leave-one-out), never on the test item.
"""

from absl import flags

from tfrankcf.methods.guidedrec import build_guidedrec
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

common_flags.define_epochs_flag()
common_flags.define_backbone_flags()
flags.DEFINE_enum("surrogate", "ensemble", ["ensemble", "mlp", "nfm1", "nfm2"],
                  "Surrogate architecture (eq. 4-8; ensemble = MLP x NFM).")
flags.DEFINE_enum("stabilizer", "logloss", ["logloss", "none"],
                  "Keep the log-loss step (a) (RQ3) or train through the surrogate only.")
flags.DEFINE_float("beta", 1.0, "Weight of the log loss (eq. 9).", lower_bound=0)
flags.DEFINE_bool("leaky_gradients", False,
                  "Do not freeze the other model in steps (c) and (d) (Section 5.5).")
flags.DEFINE_enum("loss_reduction", "sum", ["sum", "mean"],
                  "Sum the losses over the batch (code, eq. 9-11) or average them.")
flags.DEFINE_float("logloss_learning_rate", 1e-3, "Step (a) learning rate (Table 5).",
                   lower_bound=0)
flags.DEFINE_float("logloss_weight_decay", 1e-5, "Step (a) AdamW decay (Table 5).",
                   lower_bound=0)
flags.DEFINE_float("ndcg_learning_rate", 1.3e-3, "Step (d) learning rate (Table 5).",
                   lower_bound=0)
flags.DEFINE_float("ndcg_weight_decay", 8e-5, "Step (d) AdamW decay (code; Table 5: 1e-6).",
                   lower_bound=0)
flags.DEFINE_float("surrogate_learning_rate", 2e-3, "Step (c) learning rate (Table 5).",
                   lower_bound=0)
flags.DEFINE_float("surrogate_weight_decay", 1e-6,
                   "Step (c) AdamW decay (code; Table 5: 8e-5).", lower_bound=0)
flags.DEFINE_bool("paper_decays", False,
                  "Swap the NDCG and surrogate decays to Table 5's assignment.")
flags.FLAGS.set_default("epochs", 440)  # Table 5, ML-100K
flags.FLAGS.set_default("batch_size", 250)  # pairs: 25 lists x 10 items

FLAGS = flags.FLAGS
_METHOD_FLAGS = ("surrogate", "stabilizer", "beta", "leaky_gradients", "loss_reduction",
                 "logloss_learning_rate", "logloss_weight_decay", "ndcg_learning_rate",
                 "ndcg_weight_decay", "surrogate_learning_rate", "surrogate_weight_decay",
                 "paper_decays")
cli.help_group("GuidedRec", _METHOD_FLAGS)


def main(argv):
  del argv
  params = common_flags.backbone_params()
  params.update({name: FLAGS[name].value for name in _METHOD_FLAGS})
  run.run_trainable(common_flags.run_config("guidedrec", params), build_guidedrec)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
