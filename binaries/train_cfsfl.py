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

from absl import flags

from tfrankcf.methods.cfsfl import FEEDBACK_HISTORY, FEEDBACK_INIT, build_cfsfl
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags
from tfrankcf.training import run

common_flags.define_actor_flags()
flags.DEFINE_alias("recommender", "actor")  # Table 4: any actor (vae, dae, mf, warp, ...)
flags.DEFINE_integer("unroll_steps", 8, "T: recommendation-feedback rounds (8 ML-20M/Netflix, "
                     "6 MSD), in training and inference.", lower_bound=0)
flags.DEFINE_integer("recommender_epochs", 150, "Stage 1: recommender pre-training epochs.",
                     lower_bound=0)
flags.DEFINE_integer("reward_epochs", 10, "Stage 2: reward-estimator pre-training epochs.",
                     lower_bound=0)
flags.DEFINE_integer("joint_epochs", 50, "Stage 3: alternating epochs of the whole loop.",
                     lower_bound=0)
flags.DEFINE_float("reward_learning_rate", 1e-3, "Adam lr of the reward estimator (and B).",
                   lower_bound=0)
flags.DEFINE_float("feedback_learning_rate", 1e-3, "Adam lr of the feedback generator.",
                   lower_bound=0)
flags.DEFINE_float("l2", 0.01, "Recommender l2 penalty: l2 / batch_size * sum(kernel^2).",
                   lower_bound=0)
common_flags.define_embedding_flag("d of the feedback fusion's lookup table (default 64, "
                                   "App. A.1).")
flags.DEFINE_enum("feedback_init", "zeros", list(FEEDBACK_INIT),
                  "Initial recommender weights on the feedback inputs: zeros (stage 3 starts "
                  "from the pre-trained predictions) or glorot.")
flags.DEFINE_enum("feedback_history", "full", list(FEEDBACK_HISTORY),
                  "x of the virtual user's h(x, a) in training: the whole training row "
                  "(full) or the items the recommender's dropped-out input kept (observed).")
flags.FLAGS.set_default("protocol", "strong")

FLAGS = flags.FLAGS
STAGES = ("recommender_epochs", "reward_epochs", "joint_epochs")
_METHOD_FLAGS = ("unroll_steps",) + STAGES + (
    "reward_learning_rate", "feedback_learning_rate", "l2", "feedback_init", "feedback_history")
common_flags.validate_stages(STAGES)
common_flags.alias_epochs("joint_epochs")
cli.help_group("CF-SFL", ("recommender",) + _METHOD_FLAGS + ("embedding_dim",))


def main(argv):
  del argv
  params = common_flags.actor_params()
  params.update({name: FLAGS[name].value for name in _METHOD_FLAGS})
  if FLAGS.embedding_dim:
    params["embedding_dim"] = FLAGS.embedding_dim
  config = common_flags.run_config("cfsfl", params,
                                   epochs=sum(FLAGS[name].value for name in STAGES))
  run.run_trainable(config, build_cfsfl)


def entry_point():
  cli.run(main)


if __name__ == "__main__":
  entry_point()
