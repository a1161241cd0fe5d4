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

from tfrankcf import api
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

SPEC = registry.spec("guidedrec")
common_flags.define_method_flags(SPEC)


def main(argv):
  del argv
  api.train(common_flags.run_config(SPEC))


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
