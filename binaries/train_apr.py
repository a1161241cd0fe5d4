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

from tfrankcf import api
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

SPEC = registry.spec("apr")
common_flags.define_method_flags(SPEC)


def main(argv):
  del argv
  api.train(common_flags.run_config(SPEC))


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
