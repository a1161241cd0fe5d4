"""Benchmark: forward + backward time of each ranking loss alone on [B, L] lists.

  python bench/list_losses.py [--batch 500] [--list_size 100] [--relevant 0.5] \
      [--output bench/results/list_losses.json]

The listwise losses cost B x L x L (pairs or permutation matrices); this times
each `tfrankcf.losses.ranking` loss, and TF-Ranking's `losses_impl` versions of
the pairwise logistic and NeuralSort losses (same values) for comparison, on
random binary lists of the autoencoders' sampled size (500 users x 100 items),
median over repeats.
"""

import argparse
import os
import statistics
import time

import tensorflow as tf
from tensorflow_ranking.python import losses_impl

from tfrankcf.losses import ranking
from tfrankcf.training.results import write_json


def milliseconds(loss, labels, logits, repeats: int) -> float:
  @tf.function
  def step():
    with tf.GradientTape() as tape:
      tape.watch(logits)
      total = tf.reduce_sum(loss(labels, logits, tf.constant([1, 2])))
    return tape.gradient(total, logits)

  step()  # trace
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    step().numpy()
    times.append(time.perf_counter() - start)
  return 1000 * statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch", type=int, default=500)
  parser.add_argument("--list_size", type=int, default=100)
  parser.add_argument("--relevant", type=float, default=0.5)
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "list_losses.json"))
  args = parser.parse_args()
  shape = [args.batch, args.list_size]
  labels = tf.cast(tf.random.stateless_uniform(shape, [0, 1]) < args.relevant, tf.float32)
  logits = tf.random.stateless_normal(shape, [0, 2])
  losses = {name: ranking.get(name) for name in ranking.LOSSES}
  # TF-Ranking's own computation of the two losses tfrankcf computes differently.
  losses["pairwise_logistic_losses_impl"] = ranking.TFRankingLoss(
      losses_impl.PairwiseLogisticLoss("pairwise_logistic"))
  losses["neural_sort_losses_impl"] = ranking.TFRankingLoss(
      losses_impl.NeuralSortCrossEntropyLoss("neural_sort"))
  result = {"batch": args.batch, "list_size": args.list_size, "relevant": args.relevant,
            "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
            "ms_forward_backward": {}}
  for name, loss in losses.items():
    result["ms_forward_backward"][name] = milliseconds(loss, labels, logits, args.repeats)
    print(f"{name:32s} {result['ms_forward_backward'][name]:8.1f} ms", flush=True)
  write_json(args.output, result)


if __name__ == "__main__":
  main()
