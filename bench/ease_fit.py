"""Benchmark: EASE fit time (Gram matrix + inverse) on ml100k and on the ML-1M Mult-VAE split.

  python bench/ease_fit.py [--output bench/results/ease_fit.json] [--repeats 5]

Writes JSON with the median seconds of `EASE.gram` and of one `EASE.fit` at
the default L2, per dataset, plus the machine's CPU count.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

from tfrankcf import datasets
from tfrankcf.baselines import EASE
from tfrankcf.protocols import load_vaecf_split, make_split
from tfrankcf.training.results import write_json

ML1M_VAECF = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ml-1m-vaecf")


def _median_seconds(function, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    function()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def measure(train, repeats):
  gram = EASE.gram(train)
  return {"users": train.shape[0], "items": train.shape[1], "interactions": int(train.nnz),
          "gram_seconds": _median_seconds(lambda: EASE.gram(train), repeats),
          "fit_seconds": _median_seconds(lambda: EASE(500.0).fit(train, gram=gram), repeats)}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "ease_fit.json"))
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  results = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
             "cpu_count": os.cpu_count(), "machine": platform.machine(), "datasets": {}}
  ml100k = make_split("loo_sampled", datasets.load_dataset("ml100k").interactions, 0)
  results["datasets"]["ml100k_loo_sampled"] = measure(ml100k.train, args.repeats)
  if os.path.isdir(ML1M_VAECF):
    results["datasets"]["ml1m_vaecf"] = measure(load_vaecf_split(ML1M_VAECF).train, args.repeats)
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
