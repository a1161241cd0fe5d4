"""Benchmark: Mult-VAE and RaCT epochs on the ML-1M Mult-VAE split, or dense vs sparse at ML-20M.

  python bench/ract_epoch.py [--epochs 5] [--output bench/results/ract_epoch.json]
  python bench/ract_epoch.py --shape=ml20m [--epochs 3 --threads 1 --users 136677 --ract]

With `--shape=ml20m` (see `synthetic_ml20m` for the data) it times, in one
process, one Mult-VAE epoch (batch 500, the trainer's `fit` on `UserRows`)
of each `--sides`, taking turns every epoch after a tracing warm-up of two
batches: `dense`, the code before issue 20 (dense [B, M] rows, Keras's Adam);
`sparse`, the package now (sparse rows: the first layer an embedding bag over
the non-zeros; `FusedAdam`); `dense_fused`, dense rows with `FusedAdam` (what
the package runs under --jit_compile or tf.distribute), which separates the
two changes. `--ract` adds RaCT's shared-pass actor-critic stage for each
side. Target: sparse <= 0.6x dense (ratios of medians, and of the fastest
epochs: a shared machine stalls single epochs). `--users N`
keeps the item count and per-user activity but generates only N users (a
quick check of the script; the target is judged at the full size). Writes
bench/results/ract_epoch_ml20m.json unless --output says otherwise.

The default (ML-1M) mode:

Measures, in one process, the median seconds per training epoch (batch 500,
after one warm-up epoch) of

* the package's Mult-VAE (`AutoencoderModel.fit` on `UserRows`), against a
  minimal hand-written tf.function loop of the same network and objective
  over a dense training matrix held in memory (target: <= 1.2x);
* RaCT's stages (actor pre-training with the normalisation update, critic
  only, shared-pass actor-critic; target for the last: <= 1.5x the Mult-VAE
  epoch), the sequential stage-3 variant and the WARP / LambdaRank last stages;
* the critic step cost (critic-only epoch minus a forward-only epoch, per batch);
* users per second when scoring the validation users.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import types

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import AutoencoderModel, actor_objective
from tfrankcf.methods.ract import RaCT, RaCTConfig
from tfrankcf.protocols import load_vaecf_split
from tfrankcf.training.results import write_json

ML20M = {"users": 136_677, "items": 20_108, "interactions": 10_000_000}
ML20M_OUTPUT = os.path.join(os.path.dirname(__file__), "results", "ract_epoch_ml20m.json")
ML1M_VAECF = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                          "ml-1m-vaecf")
BATCH = 500


def interleaved_epoch_times(runs: dict, epochs: int) -> dict:
  """Seconds of every timed epoch of each run, the runs taking turns every epoch.

  Taking turns exposes every variant to the same background load (the
  machine is shared), which matters more for the ratios than for the values.
  """
  for run in runs.values():
    run(0)  # warm-up: tracing
  times = {name: [] for name in runs}
  for epoch in range(1, epochs + 1):
    for name, run in runs.items():
      start = time.perf_counter()
      run(epoch)
      times[name].append(time.perf_counter() - start)
  return times


def interleaved_epoch_seconds(runs: dict, epochs: int) -> dict:
  """Median seconds per epoch of each run (`interleaved_epoch_times`)."""
  return {name: statistics.median(values)
          for name, values in interleaved_epoch_times(runs, epochs).items()}


def package_epoch(model, rows, stage_epoch=None):
  """One epoch the way the trainer runs it (`fit` on that epoch's dataset)."""
  def run(epoch):
    model.epoch.assign(epoch if stage_epoch is None else stage_epoch)
    model.fit(rows(epoch), epochs=epoch + 1, initial_epoch=epoch, verbose=0)
  return run


def hand_written_epoch(train, num_items, seed):
  """The same Mult-VAE step with raw variables and a dense matrix: the floor."""
  glorot = tf.keras.initializers.GlorotUniform(seed)
  dims = [(num_items, 600), (600, 200), (600, 200), (200, 600), (600, num_items)]
  weights = [tf.Variable(glorot((a, b))) for a, b in dims]
  biases = [tf.Variable(tf.zeros([b])) for _, b in dims]
  variables = weights + biases
  optimizer = tf.keras.optimizers.Adam(1e-3)
  dense = tf.constant(train.toarray().astype(np.float32))
  step = tf.Variable(0, dtype=tf.int64)

  @tf.function
  def train_step(users):
    x = tf.gather(dense, users)
    step.assign_add(1)
    beta = tf.minimum(tf.cast(step, tf.float32) / 200000.0, 0.2)
    noise_seed = tf.stack([tf.constant(seed, tf.int64), step])
    keep = tf.cast(tf.random.stateless_uniform(tf.shape(x), seed=noise_seed) < 0.5,
                   tf.float32)
    with tf.GradientTape() as tape:
      h = tf.nn.l2_normalize(x, 1) * keep / 0.5
      h = tf.tanh(h @ weights[0] + biases[0])
      mean, log_var = h @ weights[1] + biases[1], h @ weights[2] + biases[2]
      z = mean + tf.random.stateless_normal(tf.shape(mean), seed=noise_seed + 1) * tf.exp(
          0.5 * log_var)
      logits = tf.tanh(z @ weights[3] + biases[3]) @ weights[4] + biases[4]
      nll = -tf.reduce_sum(x * tf.nn.log_softmax(logits), 1)
      kl = 0.5 * tf.reduce_sum(-log_var + tf.exp(log_var) + mean ** 2 - 1.0, 1)
      loss = tf.reduce_mean(nll + beta * kl)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  num_users = train.shape[0]

  def run(epoch):
    order = np.random.default_rng([seed, epoch]).permutation(num_users)
    for start in range(0, num_users, BATCH):
      loss = train_step(tf.constant(order[start:start + BATCH]))
    loss.numpy()
  return run


def synthetic_ml20m(num_users: int = ML20M["users"], num_items: int = ML20M["items"],
                    interactions: int = ML20M["interactions"], seed: int = 0,
                    zipf_exponent: float = 1.0, activity_sigma: float = 1.0) -> sp.csr_matrix:
  """A binary user x item matrix of ML-20M's shape, deterministic in `seed`.

  Item popularity is Zipf-like: the item of popularity rank r (ranks in a
  random order of the item ids) has weight (r + 10)^-zipf_exponent. User
  activity is log-normal (sigma `activity_sigma`), scaled so that the
  activities add up to `interactions` * num_users / ML-20M's users (the same
  mean of ~73 items per user for fewer users), clipped to [5, num_items / 2].
  Each user's items are drawn from the popularity without replacement (draws
  with replacement, duplicates removed and re-drawn for up to 8 rounds), so
  the total is within a fraction of a percent of the target.
  """
  rng = np.random.default_rng([seed, 20])
  weights = (np.arange(num_items) + 10.0) ** -zipf_exponent
  popularity = np.empty(num_items)
  popularity[rng.permutation(num_items)] = weights / weights.sum()
  activity = rng.lognormal(0.0, activity_sigma, num_users)
  target = interactions * num_users / ML20M["users"]
  activity = np.clip(np.round(activity * target / activity.sum()), 5, num_items // 2)
  activity = activity.astype(np.int64)
  keys = np.zeros(0, np.int64)
  missing = activity.copy()
  cdf = np.cumsum(popularity)
  for _ in range(8):
    if not missing.any():
      break
    users = np.repeat(np.arange(num_users, dtype=np.int64), missing)
    items = np.minimum(np.searchsorted(cdf, rng.random(len(users))), num_items - 1)
    keys = np.unique(np.concatenate([keys, users * num_items + items]))
    missing = activity - np.bincount(keys // num_items, minlength=num_users)
  rows, columns = keys // num_items, keys % num_items
  return sp.csr_matrix((np.ones(len(keys), np.float32), (rows, columns)),
                       shape=(num_users, num_items))


def _keras_adam(actor, learning_rate=1e-3):
  """Keras's own Adam (the actor's optimiser before issue 20), built for `actor`."""
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  optimizer.build(actor.trainable_variables)
  return optimizer


def warm_package_epoch(model, rows, stage_epoch=None):
  """`package_epoch` whose warm-up (epoch 0) fits only two batches: tracing, not a whole epoch."""
  full = package_epoch(model, rows, stage_epoch)

  def run(epoch):
    if epoch > 0:
      return full(epoch)
    model.epoch.assign(0 if stage_epoch is None else stage_epoch)
    return model.fit(rows(0).take(2), verbose=0)
  return run


def ml20m_main(args):
  """Dense vs sparse rows, one Mult-VAE epoch each, interleaved (module doc)."""
  if args.threads:
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  start = time.perf_counter()
  train = synthetic_ml20m(num_users=args.users or ML20M["users"], seed=args.seed)
  generate_seconds = time.perf_counter() - start
  num_items = train.shape[1]
  runs, batches = {}, None
  for side in args.sides.split(","):
    sparse, keras_adam = side == "sparse", side == "dense"
    rows = UserRows(train, batch_size=BATCH, seed=args.seed, sparse=sparse)
    batches = rows.batches_per_epoch
    tf.keras.utils.set_random_seed(args.seed)
    vae = AutoencoderModel(build_actor("vae", num_items), actor_objective("vae"), seed=args.seed)
    if keras_adam:
      vae.actor_optimizer = _keras_adam(vae.actor)
    vae.compile(optimizer=vae.actor_optimizer)
    runs[f"vae_{side}"] = warm_package_epoch(vae, rows)
    if args.ract:
      ract = _ract(types.SimpleNamespace(num_items=num_items), args.seed)
      if keras_adam:
        ract.ac_optimizer = _keras_adam(ract.actor, 2e-6)
      runs[f"ract_stage3_{side}"] = warm_package_epoch(ract, rows, 2)
  times = interleaved_epoch_times(runs, args.epochs)
  medians = {name: statistics.median(values) for name, values in times.items()}
  fastest = {name: min(values) for name, values in times.items()}
  ratios = {}
  for prefix in ("vae", "ract_stage3"):
    for other in ("dense", "dense_fused"):
      if f"{prefix}_sparse" in medians and f"{prefix}_{other}" in medians:
        ratios[f"{prefix}_sparse_over_{other}"] = (medians[f"{prefix}_sparse"]
                                                   / medians[f"{prefix}_{other}"])
        ratios[f"{prefix}_sparse_over_{other}_fastest"] = (fastest[f"{prefix}_sparse"]
                                                           / fastest[f"{prefix}_{other}"])
  results = {
      "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
      "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "tensorflow": tf.__version__, "threads": args.threads or "default",
      "shape": "ml20m",
      "data": {"users": train.shape[0], "items": num_items, "interactions": int(train.nnz),
               "mean_items_per_user": float(train.nnz / train.shape[0]),
               "density": float(train.nnz / (train.shape[0] * num_items)),
               "batch_size": BATCH, "batches_per_epoch": batches,
               "full_size": not args.users or args.users == ML20M["users"],
               "generate_seconds": generate_seconds},
      "timed_epochs": args.epochs,
      "seconds_per_epoch": medians, "fastest_epoch_seconds": fastest,
      "epoch_seconds": times,
      "ratios": ratios,
      "targets": {"vae_sparse_over_dense": 0.6},
  }
  write_json(args.output or ML20M_OUTPUT, results)
  print(json.dumps(results, indent=2))


def _ract(split, seed, **config):
  tf.keras.utils.set_random_seed(seed)
  config = {"actor_epochs": 1, "critic_epochs": 1, "ac_epochs": 100, **config}
  model = RaCT(build_actor("vae", split.num_items), actor_objective("vae"), RaCTConfig(**config),
               seed=seed)
  model.compile(optimizer=model.actor_optimizer)
  return model


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--epochs", type=int, default=5, help="timed epochs per variant")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--skip_lambdarank", action="store_true")
  parser.add_argument("--output", default=None,
                      help="JSON path (default bench/results/ract_epoch.json, "
                           "or ract_epoch_ml20m.json with --shape=ml20m)")
  parser.add_argument("--shape", choices=("ml1m-vaecf", "ml20m"), default="ml1m-vaecf",
                      help="ml20m: synthetic ML-20M shape, dense vs sparse rows")
  parser.add_argument("--users", type=int, default=0,
                      help="ml20m: generate only this many users (0: all 136,677)")
  parser.add_argument("--threads", type=int, default=1,
                      help="ml20m: TF intra- and inter-op threads (0: TF's default)")
  parser.add_argument("--ract", action="store_true",
                      help="ml20m: also RaCT's actor-critic stage, dense vs sparse")
  parser.add_argument("--sides", default="dense,sparse,dense_fused",
                      help="ml20m: dense (before issue 20: dense rows, Keras Adam), sparse "
                           "(the package: sparse rows, FusedAdam), dense_fused (dense rows, "
                           "FusedAdam: the package under --jit_compile or tf.distribute)")
  args = parser.parse_args()
  if args.shape == "ml20m":
    ml20m_main(args)
    return
  args.output = args.output or os.path.join(os.path.dirname(__file__), "results",
                                            "ract_epoch.json")
  split = load_vaecf_split(ML1M_VAECF)
  rows = UserRows(split.train, batch_size=BATCH, seed=args.seed)
  epochs, seed = args.epochs, args.seed
  runs = {"hand_written_vae": hand_written_epoch(split.train, split.num_items, seed)}
  tf.keras.utils.set_random_seed(seed)
  vae = AutoencoderModel(build_actor("vae", split.num_items), actor_objective("vae"), seed=seed)
  vae.compile(optimizer=vae.actor_optimizer)
  runs["package_vae"] = package_epoch(vae, rows)
  ract = _ract(split, seed)
  runs["ract_stage1_actor"] = package_epoch(ract, rows, 0)
  runs["ract_stage2_critic"] = package_epoch(_ract(split, seed), rows, 1)
  runs["ract_stage3_actor_critic"] = package_epoch(_ract(split, seed), rows, 2)
  runs["ract_stage3_sequential"] = package_epoch(_ract(split, seed, sequential=True), rows, 2)
  runs["stage3_warp"] = package_epoch(_ract(split, seed, stage3="warp"), rows, 2)
  seconds = interleaved_epoch_seconds(runs, epochs)
  if not args.skip_lambdarank:
    seconds.update(interleaved_epoch_seconds(
        {"stage3_lambdarank": package_epoch(_ract(split, seed, stage3="lambdarank"),
                                            rows, 2)}, 1))

  # Critic step cost: the critic-only epoch minus a forward-only epoch.
  @tf.function
  def forward_only(batch):
    history = batch["history"]
    mask = ract.sample_mask(history)
    logits, _ = ract.forward(history, mask, training=True)
    return ract._batch_view(history, mask, logits)  # pylint: disable=protected-access

  def forward_epoch(epoch):
    for batch in rows(epoch):
      out = forward_only(batch)
    out[1].numpy()
  seconds.update(interleaved_epoch_seconds(
      {"forward_features_target": forward_epoch}, epochs))

  valid = split.valid
  vae.score(valid.user_index[:10], valid.inputs[:10])  # warm-up
  start = time.perf_counter()
  for begin in range(0, valid.num_users, 1000):
    vae.score(valid.user_index[begin:begin + 1000], valid.inputs[begin:begin + 1000])
  score_seconds = time.perf_counter() - start

  base = seconds["package_vae"]
  results = {
      "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
      "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "tensorflow": tf.__version__,
      "data": {"users": split.num_users, "items": split.num_items,
               "interactions": int(split.train.nnz), "batch_size": BATCH,
               "batches_per_epoch": rows.batches_per_epoch},
      "timed_epochs": epochs,
      "seconds_per_epoch": seconds,
      "ratios": {
          "package_vae_over_hand_written": base / seconds["hand_written_vae"],
          "ract_stage3_over_vae": seconds["ract_stage3_actor_critic"] / base,
          "ract_stage1_over_vae": seconds["ract_stage1_actor"] / base,
          "ract_stage2_over_vae": seconds["ract_stage2_critic"] / base,
          **{f"{k}_over_vae": v / base for k, v in seconds.items()
             if k.startswith("stage3_") or k == "ract_stage3_sequential"},
      },
      "targets": {"package_vae_over_hand_written": 1.2, "ract_stage3_over_vae": 1.5},
      "critic_step_ms": 1000 * (seconds["ract_stage2_critic"] -
                                seconds["forward_features_target"]) / rows.batches_per_epoch,
      "eval_users_per_second": valid.num_users / score_seconds,
  }
  write_json(args.output, results)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
