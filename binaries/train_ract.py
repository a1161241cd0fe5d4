r"""Trains RaCT (actor pre-training, critic pre-training, actor-critic); writes results.json.

  train_ract --flagfile=configs/ract_ml1m-vaecf.cfg --seed=1
  train_ract --dataset=ml100k --protocol=strong --actor_epochs=100 --critic_epochs=50 \
      --ac_epochs=50

The run lasts actor_epochs + critic_epochs + ac_epochs epochs (--epochs is
--ac_epochs). results.json adds `critic_correlation`: the Pearson r of the
critic output and of the actor's NLL with the true metric on the validation
users.
"""

from tfrankcf import api
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

SPEC = registry.spec("ract")
common_flags.define_method_flags(SPEC)


def main(argv):
  del argv
  api.train(common_flags.run_config(SPEC))


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
