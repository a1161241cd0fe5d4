"""Benchmark: Mult-VAE and RaCT epochs on the ML-1M Mult-VAE split.

  python bench/ract_epoch.py [--epochs 5] [--output bench/results/ract_epoch.json]

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

import numpy as np
import tensorflow as tf

from tfrankcf.backbones.autoencoders import build_actor
from tfrankcf.inputs.user_rows import UserRows
from tfrankcf.methods.autoencoder import AutoencoderModel
from tfrankcf.methods.ract import RaCT, RaCTConfig
from tfrankcf.protocols import load_vaecf_split
from tfrankcf.training.results import write_json

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


def _ract(split, seed, **config):
  tf.keras.utils.set_random_seed(seed)
  config = {"actor_epochs": 1, "critic_epochs": 1, "ac_epochs": 100, **config}
  model = RaCT(build_actor("vae", split.num_items), RaCTConfig(**config), seed=seed)
  model.compile(optimizer=model.actor_optimizer)
  return model


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--epochs", type=int, default=5, help="timed epochs per variant")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--skip_lambdarank", action="store_true")
  parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "ract_epoch.json"))
  args = parser.parse_args()
  split = load_vaecf_split(ML1M_VAECF)
  rows = UserRows(split.train, batch_size=BATCH, seed=args.seed)
  epochs, seed = args.epochs, args.seed
  runs = {"hand_written_vae": hand_written_epoch(split.train, split.num_items, seed)}
  tf.keras.utils.set_random_seed(seed)
  vae = AutoencoderModel(build_actor("vae", split.num_items), seed=seed)
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
