r"""Trains APR (adversarial matrix factorisation) after MF-BPR; writes results.json.

  train_apr --flagfile=configs/apr_ml100k.cfg --seed=1
  train_apr --dataset=ml100k --pretrain_epochs=1000 --adv_epochs=1000 --eps=0.5
  train_apr --init_checkpoint=runs/bpr_ml100k_loo_full_s0/checkpoints/ckpt-1000 \
      --pretrain_epochs=0 --adv_epochs=1000

The run lasts pretrain_epochs (BPR, `bpr_optimizer`) + adv_epochs (APR with a
fresh Adagrad, from the last BPR weights) epochs (--epochs is --adv_epochs). With
--init_checkpoint the embeddings come from a BPR run's checkpoint instead. The
epoch is chosen on the validation users over the whole run. results.json adds
`robustness`: the relative metric change of the selected model under
adversarial vs random perturbations of norm eps per row (paper Table 2).
Protocol `loo_full` by default (the paper's: latest interaction, ranked
against every non-training item).
"""

from absl import flags

from tfrankcf.errors import InputError
from tfrankcf.methods.apr import build_apr
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

flags.DEFINE_integer("pretrain_epochs", 1000, "MF-BPR epochs before APR in this run.",
                     lower_bound=0)
flags.DEFINE_integer("adv_epochs", 1000, "APR epochs.", lower_bound=0)
flags.DEFINE_string("init_checkpoint", None,
                    "Start APR from the embeddings of this BPR checkpoint "
                    "(requires --pretrain_epochs=0).")
flags.DEFINE_enum("apr_start", "last", ["last", "best"],
                  "APR starts from the last BPR epoch (authors' code) or from the best "
                  "validation epoch of the BPR stage.")
flags.DEFINE_float("eps", 0.5, "Norm of each adversarial perturbation row (epsilon).",
                   lower_bound=0)
flags.DEFINE_float("reg_adv", 1.0, "Weight of the adversarial BPR term (lambda).",
                   lower_bound=0)
common_flags.define_mf_flags()
flags.FLAGS.set_default("protocol", "loo_full")

FLAGS = flags.FLAGS
STAGES = ("pretrain_epochs", "adv_epochs")
_METHOD_FLAGS = STAGES + ("init_checkpoint", "apr_start", "eps", "reg_adv")
common_flags.validate_stages(STAGES)
common_flags.alias_epochs("adv_epochs")
cli.help_group("APR", _METHOD_FLAGS)


def main(argv):
  del argv
  if FLAGS.init_checkpoint and FLAGS.pretrain_epochs:
    raise InputError("--init_checkpoint starts APR from a trained BPR model; "
                     "set --pretrain_epochs=0 with it")
  params = common_flags.mf_params()
  params.update({name: FLAGS[name].value for name in _METHOD_FLAGS})
  config = common_flags.run_config("apr", params,
                                   epochs=sum(FLAGS[name].value for name in STAGES))
  run.run_trainable(config, build_apr)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
