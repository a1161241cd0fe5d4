r"""Trains RaCT (actor pre-training, critic pre-training, actor-critic); writes results.json.

  train_ract --flagfile=configs/ract_ml1m-vaecf.cfg --seed=1
  train_ract --dataset=ml100k --protocol=strong --actor_epochs=100 --critic_epochs=50 \
      --ac_epochs=50

The run lasts actor_epochs + critic_epochs + ac_epochs epochs (--epochs is
--ac_epochs). results.json adds `critic_correlation`: the Pearson r of the
critic output and of the actor's NLL with the true metric on the validation
users.
"""

from absl import flags

from tfrankcf.methods.ract import (CRITIC_START, CRITIC_STATISTICS, FEATURES, STAGE3, TARGETS,
                                   build_ract)
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

common_flags.define_actor_flags()
flags.DEFINE_integer("actor_epochs", 100, "Stage 1: actor pre-training epochs.", lower_bound=0)
flags.DEFINE_integer("critic_epochs", 50, "Stage 2: critic pre-training epochs.", lower_bound=0)
flags.DEFINE_integer("ac_epochs", 50, "Stage 3: alternating actor-critic epochs.", lower_bound=0)
flags.DEFINE_list("critic_features", list(FEATURES),
                  f"Critic input features (Figure 5), any of {','.join(FEATURES)}.")
common_flags.validate_list("critic_features", str, f"one of {', '.join(FEATURES)}",
                           lambda feature: feature in FEATURES)
flags.DEFINE_enum("critic_target", "ndcg@100", list(TARGETS), "Metric the critic learns.")
flags.DEFINE_enum("stage3", "critic", list(STAGE3),
                  "Last stage: RaCT's critic, or fine-tuning with LambdaRank / WARP.")
flags.DEFINE_bool("sequential", False,
                  "Stage 3 as in the paper's Alg. 1 (actor step, then a fresh forward "
                  "pass for the critic step) instead of one shared pass (authors' code).")
flags.DEFINE_enum("critic_statistics", "refit", list(CRITIC_STATISTICS),
                  "Critic input normalisation: 'refit' recomputes the feature statistics "
                  "on the frozen actor when stage 2 starts; 'moving' keeps only the "
                  "stage-1 moving averages (authors' code).")
flags.DEFINE_enum("critic_start", "best", list(CRITIC_START),
                  "Actor that stages 2-3 start from: the best validation epoch of stage 1 "
                  "(authors' code) or the last one.")
flags.DEFINE_float("critic_learning_rate", 1e-4, "Adam lr of the critic.", lower_bound=0)
flags.DEFINE_float("ac_learning_rate", 2e-6, "Adam lr of the actor through the critic.",
                   lower_bound=0)
flags.FLAGS.set_default("protocol", "strong")

FLAGS = flags.FLAGS
STAGES = ("actor_epochs", "critic_epochs", "ac_epochs")
_METHOD_FLAGS = STAGES + ("critic_target", "stage3", "sequential", "critic_statistics",
                          "critic_start", "critic_learning_rate", "ac_learning_rate")
common_flags.validate_stages(STAGES)
common_flags.alias_epochs("ac_epochs")
cli.help_group("RaCT", _METHOD_FLAGS + ("critic_features",))


def main(argv):
  del argv
  params = common_flags.actor_params()
  params.update({name: FLAGS[name].value for name in _METHOD_FLAGS})
  params["critic_features"] = list(FLAGS.critic_features)
  config = common_flags.run_config("ract", params,
                                   epochs=sum(FLAGS[name].value for name in STAGES))
  run.run_trainable(config, build_ract)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
