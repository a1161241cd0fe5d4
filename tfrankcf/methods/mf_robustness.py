"""The robustness study of a trained MF (APR paper, He et al. 2018: Table 2, Figure 1).

A trained matrix factorisation is perturbed by adversarial or random
perturbations of norm eps per embedding row, and the study reports the relative
change of the ranking metrics and the accuracy on the training triplets. BPR
and APR both run it on their trained model (`robustness_report`, the trainer's
`report` hook), so it is its own module below both.
"""

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.mf import MatrixFactorization, triplet_margins
from tfrankcf.inputs.triplets import Triplets
from tfrankcf.losses.pairwise import bpr_loss
from tfrankcf.metrics import evaluate
from tfrankcf.protocols.split import EvalSet


@tf.function(reduce_retracing=True)
def _table_scores(user_table, item_table, user_index):
  return tf.matmul(tf.gather(user_table, user_index), item_table, transpose_b=True)


@tf.function(reduce_retracing=True)
def _table_candidate_scores(user_table, item_table, user_index, items):
  return tf.einsum("bk,bck->bc", tf.gather(user_table, user_index),
                   tf.gather(item_table, items))


class PerturbedScorer:
  """A scorer (for `tfrankcf.metrics.evaluate`) of <p_u + d_u, q_i + d_i>."""

  def __init__(self, mf: MatrixFactorization, user_delta: tf.Tensor,
               item_delta: tf.Tensor):
    self.users = mf.user_embeddings + user_delta
    self.items = mf.item_embeddings + item_delta

  def margins(self, batch) -> tf.Tensor:
    return triplet_margins(tf.gather(self.users, batch["user_index"]),
                           tf.gather(self.items, batch["positive"]),
                           tf.gather(self.items, batch["negative"]))

  def score(self, user_index, history, items=None) -> np.ndarray:
    del history
    user_index = tf.constant(np.asarray(user_index, np.int64))
    if items is None:
      return _table_scores(self.users, self.items, user_index).numpy()
    return _table_candidate_scores(self.users, self.items, user_index,
                                   tf.constant(np.asarray(items, np.int64))).numpy()


def bpr_table_gradients(mf: MatrixFactorization,
                        batches: tf.data.Dataset) -> tuple[tf.Tensor, tf.Tensor]:
  """Gradients [N, K], [M, K] of the summed BPR loss of all `batches` w.r.t. P and Q."""
  user_gradient = tf.Variable(tf.zeros_like(mf.user_embeddings), trainable=False)
  item_gradient = tf.Variable(tf.zeros_like(mf.item_embeddings), trainable=False)

  @tf.function(reduce_retracing=True)
  def accumulate(batch):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(bpr_loss(triplet_margins(
          mf.users(batch["user_index"]), mf.items(batch["positive"]),
          mf.items(batch["negative"]))))
    grad_p, grad_q = tape.gradient(loss, [mf.user_embeddings, mf.item_embeddings])
    user_gradient.scatter_add(grad_p)
    item_gradient.scatter_add(grad_q)

  for batch in batches:
    accumulate(batch)
  return tf.convert_to_tensor(user_gradient), tf.convert_to_tensor(item_gradient)


def _accuracy(scorer: PerturbedScorer, batches: tf.data.Dataset) -> float:
  correct = total = 0
  for batch in batches:
    margins = scorer.margins(batch).numpy()
    correct += int(np.sum(margins > 0))
    total += margins.size
  return correct / max(total, 1)


def robustness_study(mf: MatrixFactorization, triplets: Triplets, eval_set: EvalSet,
                     eps_values=(0.5, 1.0, 2.0), ks=(50, 100),
                     metric_names=("ndcg", "hr"), max_batches: int | None = None,
                     seed: int = 0, eval_batch_size: int = 1000) -> dict:
  """Relative metric changes of a trained MF under adversarial vs random perturbations.

  D' = one epoch of `triplets` (one sampled negative per training pair; at most
  `max_batches` batches), as in the paper's Section 2.3. For every eps:

  * adversarial: Delta = eps * row_normalise(d BPR(D') / d (P, Q)), rows of
    users/items absent from D' stay unperturbed;
  * random: Delta = eps * row_normalise(Gaussian noise) on every row (seeded).

  Returns a JSON-able dict: the clean metrics and accuracy on D'; per eps and
  kind, the perturbed metrics, `relative_change[key] = perturbed / clean - 1`
  (Table 2 prints it as a percentage) and the accuracy on D' (Figure 1 b, d).
  """
  batches = triplets.dataset(epoch=0)
  if max_batches is not None:
    batches = batches.take(max_batches)
  batches = batches.cache()
  user_gradient, item_gradient = bpr_table_gradients(mf, batches)
  noise_seed = tf.constant([seed, 0], tf.int64)
  user_noise = tf.random.stateless_normal(tf.shape(user_gradient), seed=noise_seed)
  item_noise = tf.random.stateless_normal(
      tf.shape(item_gradient), seed=tf.random.experimental.stateless_fold_in(noise_seed, 1))
  directions = {
      "adversarial": (tf.math.l2_normalize(user_gradient, axis=1),
                      tf.math.l2_normalize(item_gradient, axis=1)),
      "random": (tf.math.l2_normalize(user_noise, axis=1),
                 tf.math.l2_normalize(item_noise, axis=1)),
  }

  def measure(user_delta, item_delta):
    scorer = PerturbedScorer(mf, user_delta, item_delta)
    result = evaluate(scorer, eval_set, ks=ks, metric_names=metric_names,
                      batch_size=eval_batch_size)
    return result.means, _accuracy(scorer, batches)

  clean, clean_accuracy = measure(tf.zeros_like(user_gradient), tf.zeros_like(item_gradient))
  study = {"clean": {"metrics": clean, "train_accuracy": clean_accuracy},
           "num_triplets": int(sum(int(tf.size(b["user_index"])) for b in batches)),
           "eps": [float(eps) for eps in eps_values]}
  for kind, (user_direction, item_direction) in directions.items():
    study[kind] = {}
    for eps in eps_values:
      metrics, accuracy = measure(eps * user_direction, eps * item_direction)
      study[kind][str(float(eps))] = {
          "metrics": metrics,
          "relative_change": {key: (metrics[key] / clean[key] - 1.0 if clean[key] else None)
                              for key in metrics},
          "train_accuracy": accuracy}
  return study


ROBUSTNESS_DEFAULT_EPS = (0.5, 1.0, 2.0)
ROBUSTNESS_BATCH_SIZE = 4096


def robustness_report(run_config):
  """The trainer's `report` hook: the robustness study of the trained model on the test users.

  Settings (the run's `method_config`, a `BPRConfig`): `robustness_eps` (eps values;
  empty = no study) and `robustness_max_batches` (cap on D' in batches of 4096; None:
  every training pair). Metrics: the run's reporting metrics, passed to the hook.
  """
  config = run_config.method_config
  eps_values = list(config.robustness_eps)

  def report(trained, split, reporting):
    if not eps_values:
      return {}
    triplets = Triplets(split.train, batch_size=ROBUSTNESS_BATCH_SIZE,
                        seed=run_config.seed + 1, drop_remainder=False)
    return {"robustness": robustness_study(
        trained.mf, triplets, split.test, eps_values, ks=reporting.ks,
        metric_names=reporting.names, max_batches=config.robustness_max_batches,
        seed=run_config.seed, eval_batch_size=run_config.eval_batch_size)}

  return report
