r"""Trains CF-SFL (recommender, reward estimator, then both with the feedback loop).

  train_cfsfl --flagfile=configs/cfsfl_ml1m-vaecf.cfg --seed=1
  train_cfsfl --dataset=ml100k --recommender=dae --unroll_steps=4 \
      --recommender_epochs=75 --reward_epochs=10 --joint_epochs=25

The run lasts recommender_epochs + reward_epochs + joint_epochs epochs
(--epochs is --joint_epochs). results.json adds `cfsfl` (the stage lengths, T, the
selected epoch's stage and the metrics of the loop at T = 0) and
`milestones.pretrained`: the best recommender of stage 1 and a paired test
over the test users of CF-SFL against it.
"""

from tfrankcf import api
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

SPEC = registry.spec("cfsfl")
common_flags.define_method_flags(SPEC)


def main(argv):
  del argv
  api.train(common_flags.run_config(SPEC))


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
