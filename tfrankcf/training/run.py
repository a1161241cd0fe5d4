"""The library calls behind every binary: split -> method -> evaluation -> results.json.

* `load_run_split(config)`: the dataset (registry name, file, or Mult-VAE split
  directory) and its protocol split, cached on disk.
* `train_run(config)`: the run of `config.method`, by its spec: a closed-form
  `fit` (EASE's L2 chosen on validation users) or a trained `build` fitted for
  its epochs; returns a `TrainedRun` (the model, the split, results.json's
  content). `run_closed_form` and `run_trainable` are its two halves.
* `write_run(config, split, outcome)`: results.json (atomic), per_user.npz and
  the summary table (protocol, selected epoch or L2, users averaged), for
  trained methods as for closed-form ones.

Before any work a run checks its output directory (`tfrankcf.training.output_dir`):
writable, and free or holding this same run (which resumes), else a one-line
error; `--overwrite` starts afresh. Every run records its config in config.json
when it starts, so a directory names its run and an interrupted run can be
exported (`tfrankcf.serving.from_run`). Exporting the trained model
(`--export_dir`) is the caller's, one layer up (`tfrankcf.api.train`).
"""

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf

from tfrankcf import datasets
from tfrankcf.errors import InputError
from tfrankcf.methods.trainable import Trainable
from tfrankcf.metrics import evaluate
from tfrankcf.protocols import is_vaecf_dir, load_vaecf_split, make_split
from tfrankcf.protocols.reporting import REPORTING, Reporting
from tfrankcf.protocols.split import Split
from tfrankcf.training import distribution
from tfrankcf.training import output_dir as run_dir
from tfrankcf.training.config import RunConfig
from tfrankcf.training.loop import train_and_evaluate
from tfrankcf.training.output_dir import CONFIG_FILE  # pylint: disable=unused-import
from tfrankcf.training.results import environment, write_json, write_per_user

DEFAULT_HELDOUT_USERS = 0.1  # strong: 10% validation and 10% test users


def load_run_split(config: RunConfig) -> Split:
  """The split of `config.dataset` under `config.protocol`, from the cache when present."""
  if is_vaecf_dir(config.dataset):
    if config.protocol != "strong":
      raise InputError("a Mult-VAE split directory is a ready-made 'strong' split; "
                       f"got --protocol={config.protocol}", path=config.dataset)
    return load_vaecf_split(config.dataset)
  loaded = datasets.load_dataset(config.dataset, data_dir=config.data_dir,
                                 sep=config.sep, test_file=config.test_file)
  options = {}
  if config.protocol == "loo_sampled":
    options["num_negatives"] = config.num_negatives
  elif config.protocol == "strong":
    threshold = config.positive_threshold
    if threshold is None:
      threshold = loaded.positive_threshold
    heldout = config.heldout_users
    if heldout is None:
      heldout = (loaded.spec.heldout_users if loaded.spec and loaded.spec.heldout_users
                 else DEFAULT_HELDOUT_USERS)
    options.update(positive_threshold=threshold, heldout_users=heldout,
                   **loaded.strong_options)
  cache_dir = os.path.join(config.data_dir or datasets.default_data_dir(), "splits")
  return make_split(config.protocol, loaded.interactions, config.effective_split_seed,
                    test_interactions=loaded.test_interactions,
                    cache_dir=cache_dir, **options)


def reporting_for(config: RunConfig) -> Reporting:
  return REPORTING[config.protocol]


def checked_output_dir(config: RunConfig) -> str:
  """The run's output directory, checked writable (and --export_dir) before any work."""
  output_dir = config.resolved_output_dir()
  run_dir.check_writable(output_dir)
  if config.export_dir:
    run_dir.check_writable(config.export_dir, "--export_dir")
  return output_dir


@dataclasses.dataclass
class TrainedRun:
  """A finished run: what it trained and what it wrote.

  Attributes:
    config: the run's `RunConfig` (with what a closed-form fit selected).
    model: the selected model (best validation epoch; the fitted baseline).
    split: the split it was trained and evaluated on.
    results: results.json's content (None on a non-chief worker, which writes none).
    outcome: the outcome behind it, per-user evaluations included (`per_user`).
  """

  config: RunConfig
  model: object
  split: Split
  results: dict | None
  outcome: dict


def train_run(config: RunConfig, build=None) -> TrainedRun:
  """Runs `config.method` by its spec (fit or train) and writes its results."""
  if config.spec.closed_form:
    return run_closed_form(config, keep=True)
  return run_trainable(config, build, keep=True)


def run_closed_form(config: RunConfig, keep: bool = False):
  """Fits a closed-form method (its spec's `fit`, selecting on validation), writes results.

  Returns results.json's content, or the `TrainedRun` when `keep`.
  """
  output_dir = checked_output_dir(config)
  run_dir.claim(config, output_dir)
  split = load_run_split(config)
  run_dir.start(config, output_dir)
  reporting = reporting_for(config)
  start = time.perf_counter()

  def scored(model):
    return evaluate(model, split.valid, ks=reporting.ks, metric_names=reporting.names,
                    batch_size=config.eval_batch_size)

  model, method_config, selection = config.spec.fit(
      split, config, lambda candidate: scored(candidate).means, reporting)
  config.method_config = method_config
  seconds = time.perf_counter() - start
  valid_result = scored(model)
  test_result = evaluate(model, split.test, ks=reporting.ks,
                         metric_names=reporting.names, batch_size=config.eval_batch_size)
  per_user = {"valid": valid_result, "test": test_result}
  outcome = {"metrics": {"valid": valid_result.means, "test": test_result.means},
             "history": [], "selection": selection, "best_epoch": None,
             "timing": {"train_seconds": seconds, "seconds_per_epoch": seconds,
                        "examples_per_second": split.train.nnz / max(seconds, 1e-9)},
             "per_user": per_user}
  results = write_run(config, split, outcome)
  outcome["per_user"] = per_user
  trained = TrainedRun(config, model, split, results, outcome)
  return trained if keep else results


def summary_table(title: str, metrics: dict, keys: list, users: dict | None = None) -> str:
  """A fixed-width table of valid/test metrics under `title`, with the users each averages."""
  widths = [max(len(k), 6) + 2 for k in keys]
  users = users or {}
  lines = [title] if title else []
  lines.append(f"{'':<8}{'users':>8}" + "".join(f"{k:>{w}}" for k, w in zip(keys, widths)))
  for part in ("valid", "test"):
    values = metrics.get(part, {})
    count = users.get(part)
    lines.append(f"{part:<8}{'?' if count is None else count:>8}" + "".join(
        f"{values.get(k, float('nan')):>{w}.4f}" for k, w in zip(keys, widths)))
  return "\n".join(lines)


def averaged_users(per_user: dict, prefix: str = "") -> dict:
  """{"valid": n, "test": n}: the users in each mean of the `prefix` evaluations (with targets)."""
  counts = {}
  for part in ("valid", "test"):
    result = per_user.get(prefix + part)
    if result is not None:
      counts[part] = int(result.num_users - result.users_without_targets)
  return counts


def selection_note(config: RunConfig, results: dict) -> str:
  """What the reported model is: the epoch or L2 selected on validation, and on which metric."""
  metric = f"valid {REPORTING[config.protocol].selection}"
  spec = config.spec
  if spec.closed_form:
    if spec.selected is None or not results.get("selection"):
      return "nothing to select"
    return (f"{spec.selected(config.method_config)} selected on {metric} "
            f"(of {len(results['selection'])} values)")
  history, best = results.get("history", []), results.get("best_epoch")
  if not best:
    return f"epoch {len(history)} (no validation ran)"
  stage = history[best - 1].get("stage") if best <= len(history) else None
  note = (f"epoch {best} of {len(history)}" + (f" ({stage})" if stage else "")
          + f" selected on {metric}")
  if results.get("stopped_early_at"):
    note += f" (stopped early after epoch {results['stopped_early_at']})"
  return note


def write_run(config: RunConfig, split: Split, outcome: dict) -> dict:
  """Writes results.json and per_user.npz atomically; prints the summary table."""
  output_dir = config.resolved_output_dir()
  per_user = outcome.pop("per_user")
  results = {
      "method": config.method,
      "dataset": config.dataset,
      "protocol": config.protocol,
      "seed": config.seed,
      "config": config.to_dict(),
      **outcome,
      "users_averaged": averaged_users(per_user),
      "split": split.info,
      "environment": environment(),
  }
  arrays = {}
  for part, result in per_user.items():
    user_index = getattr(split, part.rsplit(".", 1)[-1]).user_index
    arrays[f"{part}.user_index"] = user_index
    # Who each row is, the same for every method on this split (compare pairs users on it):
    # the training row where every user has one, else (strong: unseen users) the row of the
    # user in the split's validation or test set.
    arrays[f"{part}.user_key"] = (user_index if np.all(user_index >= 0)
                                  else np.arange(len(user_index), dtype=np.int64))
    for key, values in result.per_user.items():
      arrays[f"{part}.{key}"] = values
  write_per_user(os.path.join(output_dir, "per_user.npz"), arrays)
  write_json(os.path.join(output_dir, "results.json"), results)
  keys = REPORTING[config.protocol].keys()
  title = (f"{config.method} on {config.dataset}, protocol {config.protocol}: "
           f"{selection_note(config, results)}")
  print(summary_table(title, results["metrics"], keys, results["users_averaged"]))
  staged = [(f"{name} (best of epochs 1-{kept['epochs']}): "
             f"epoch {kept['best_epoch'] or kept['epochs']}",
             kept["metrics"], averaged_users(per_user, f"{name}."))
            for name, kept in results.get("milestones", {}).items()]
  if "last_epoch" in results:
    staged.append((f"last epoch ({results['last_epoch']['epoch']})",
                   results["last_epoch"]["metrics"], averaged_users(per_user, "last_epoch.")))
  for name, metrics, users in staged:
    print(summary_table(name, metrics, keys, users))
  print(f"results: {os.path.join(output_dir, 'results.json')}")
  return results


def seed_everything(seed: int) -> None:
  """Python, numpy and TF seeds from the run seed, and deterministic TF ops."""
  tf.keras.utils.set_random_seed(seed)
  tf.config.experimental.enable_op_determinism()


def run_trainable(config: RunConfig, build=None, keep: bool = False):
  """Trains a gradient-based method and writes its results.

  `build(split, config) -> Trainable` constructs the method on the run's split
  (default: its spec's `build`). Under `config.strategy` the model is built in
  the strategy's scope and every worker trains; only the chief writes
  results.json (see `distribution`). Returns results.json's content (a
  worker's outcome), or the `TrainedRun` when `keep`.
  """
  build = build or config.spec.build
  output_dir = checked_output_dir(config)
  strategy = distribution.strategy_for(config.strategy)  # before anything runs in TF
  output_dir = distribution.worker_dir(strategy, output_dir)
  run_dir.claim(config, output_dir)
  split = load_run_split(config)
  run_dir.start(config, output_dir)
  seed_everything(config.seed)
  with strategy.scope():
    trainable: Trainable = build(split, config)
  if config.steps_per_execution > 1 or config.jit_compile:
    model = trainable.model
    if config.jit_compile and not model.supports_jit_compile:
      raise InputError(f"--jit_compile: {config.method}'s training step has dynamic shapes "
                       f"that XLA cannot compile ({'; '.join(model.jit_compile_blockers)}); "
                       "run without --jit_compile")
    with strategy.scope():
      model.compile(optimizer=model.optimizer, steps_per_execution=config.steps_per_execution,
                    jit_compile=config.jit_compile)
  outcome = train_and_evaluate(
      trainable.model, trainable.dataset_fn, split, reporting_for(config),
      output_dir, epochs=config.spec.run_epochs(config.method_config, config.epochs),
      eval_every=config.eval_every,
      eval_batch_size=config.eval_batch_size,
      examples_per_epoch=trainable.examples_per_epoch, milestones=trainable.milestones,
      diagnostics=(None if trainable.diagnostics is None
                   else lambda: trainable.diagnostics(trainable.model, split)),
      restore_best_at=trainable.restore_best_at,
      early_stopping_patience=config.early_stopping_patience,
      distribute=lambda dataset: distribution.distribute_dataset(strategy, dataset))
  if trainable.diagnostics is not None:
    measured = [entry["diagnostics"] for entry in outcome["history"]
                if entry.get("diagnostics")]
    outcome["diagnostics"] = {
        "final": measured[-1] if measured else {},
        "selected_epoch": trainable.diagnostics(trainable.model, split)}
  if trainable.report is not None:
    outcome.update(trainable.report(trainable.model, split, reporting_for(config)))
  per_user = outcome["per_user"]
  if not distribution.is_chief(strategy):
    outcome.pop("per_user")
    if keep:
      outcome["per_user"] = per_user
      return TrainedRun(config, trainable.model, split, None, outcome)
    return outcome  # the chief writes the run's results
  results = write_run(config, split, outcome)
  outcome["per_user"] = per_user
  return TrainedRun(config, trainable.model, split, results, outcome) if keep else results
