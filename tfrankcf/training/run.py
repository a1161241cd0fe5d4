"""The library call behind every binary: split -> method -> evaluation -> results.json.

* `load_run_split(config)`: the dataset (registry name, file, or Mult-VAE split
  directory) and its protocol split, cached on disk.
* `run_baseline(config)`: ItemPop or EASE (lambda chosen on validation users).
* `write_run(config, split, outcome)`: results.json (atomic), per_user.npz and
  the summary table, for trainable methods as for baselines.
* `export_if_requested(config, model, split)`: the SavedModel of --export_dir.

A trainable run also records its config in config.json when it starts, so an
interrupted run can be exported (`tfrankcf.serving.from_run`).
"""

import dataclasses
import logging
import os
import time

import numpy as np

from tfrankcf import datasets
from tfrankcf.baselines import EASE, ItemPop
from tfrankcf.errors import InputError
from tfrankcf.metrics import evaluate
from tfrankcf.protocols import is_vaecf_dir, load_vaecf_split, make_split
from tfrankcf.protocols.reporting import REPORTING, Reporting
from tfrankcf.protocols.split import Split
from tfrankcf.training.config import RunConfig
from tfrankcf.training.results import environment, write_json, write_per_user

DEFAULT_HELDOUT_USERS = 0.1  # strong: 10% validation and 10% test users
EASE_L2_GRID = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
CONFIG_FILE = "config.json"  # a trainable run's RunConfig, written when it starts


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


def run_baseline(config: RunConfig) -> dict:
  """Fits ItemPop or EASE on the split, selects EASE's lambda on validation, writes results."""
  split = load_run_split(config)
  reporting = reporting_for(config)
  start = time.perf_counter()

  def scored(model):
    return evaluate(model, split.valid, ks=reporting.ks, metric_names=reporting.names,
                    batch_size=config.eval_batch_size)

  selection = []
  if config.method == "itempop":
    model = ItemPop().fit(split.train)
  elif config.method == "ease":
    grid = config.params.get("l2_grid") or EASE_L2_GRID
    gram = EASE.gram(split.train)
    best_score, model = -np.inf, None
    for l2 in grid:
      candidate = EASE(l2).fit(split.train, gram=gram)
      valid = scored(candidate).means
      selection.append({"l2": l2, "valid": valid})
      logging.info("ease l2 %g: valid %s %.4f", l2, reporting.selection,
                   valid[reporting.selection])
      if valid[reporting.selection] > best_score:
        best_score, model = valid[reporting.selection], candidate
    config.params["l2"] = model.l2
  else:
    raise InputError(f"unknown baseline '{config.method}'")
  seconds = time.perf_counter() - start
  valid_result = scored(model)
  test_result = evaluate(model, split.test, ks=reporting.ks,
                         metric_names=reporting.names, batch_size=config.eval_batch_size)
  outcome = {"metrics": {"valid": valid_result.means, "test": test_result.means},
             "history": [], "selection": selection, "best_epoch": None,
             "timing": {"train_seconds": seconds, "seconds_per_epoch": seconds,
                        "examples_per_second": split.train.nnz / max(seconds, 1e-9)},
             "per_user": {"valid": valid_result, "test": test_result}}
  results = write_run(config, split, outcome)
  export_if_requested(config, model, split)
  return results


def summary_table(method: str, metrics: dict, keys: list) -> str:
  """A small fixed-width table of valid/test metrics."""
  width = max(len(k) for k in keys) + 2
  lines = [f"{method:<12}" + "".join(f"{k:>{width}}" for k in keys)]
  for part in ("valid", "test"):
    values = metrics.get(part, {})
    lines.append(f"{part:<12}" + "".join(
        f"{values.get(k, float('nan')):>{width}.4f}" for k in keys))
  return "\n".join(lines)


def write_run(config: RunConfig, split: Split, outcome: dict) -> dict:
  """Writes results.json and per_user.npz atomically; prints the summary table."""
  output_dir = config.resolved_output_dir()
  per_user = outcome.pop("per_user")
  results = {
      "method": config.method,
      "dataset": config.dataset,
      "protocol": config.protocol,
      "seed": config.seed,
      "config": dataclasses.asdict(config),
      **outcome,
      "split": split.info,
      "environment": environment(),
  }
  arrays = {}
  for part, result in per_user.items():
    arrays[f"{part}.user_index"] = getattr(split, part.rsplit(".", 1)[-1]).user_index
    for key, values in result.per_user.items():
      arrays[f"{part}.{key}"] = values
  write_per_user(os.path.join(output_dir, "per_user.npz"), arrays)
  write_json(os.path.join(output_dir, "results.json"), results)
  keys = REPORTING[config.protocol].keys()
  print(summary_table(config.method, results["metrics"], keys))
  staged = {f"{name} (best of epochs 1-{kept['epochs']})": kept["metrics"]
            for name, kept in results.get("milestones", {}).items()}
  if "last_epoch" in results:
    staged[f"last epoch ({results['last_epoch']['epoch']})"] = results["last_epoch"]["metrics"]
  for name, metrics in staged.items():
    print(f"{name}:\n{summary_table('', metrics, keys)}")
  print(f"results: {os.path.join(output_dir, 'results.json')}")
  return results


def export_if_requested(config: RunConfig, model, split: Split) -> None:
  """Exports the run's model as a SavedModel when `config.export_dir` is set (serving)."""
  if config.export_dir:
    from tfrankcf.serving.export import export_model  # pylint: disable=g-import-not-at-top
    path = export_model(model, split, config.export_dir, config.export_top_k)
    print(f"saved model: {path}")


def seed_everything(seed: int) -> None:
  """Python, numpy and TF seeds from the run seed, and deterministic TF ops."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(seed)
  tf.config.experimental.enable_op_determinism()


@dataclasses.dataclass
class Trainable:
  """What a method's builder hands to `run_trainable`.

  Attributes:
    model: a compiled `tfrankcf.methods.base.Model`.
    dataset_fn: epoch -> that epoch's training batches, deterministic in
      (seed, epoch) so that a resumed run repeats the interrupted epoch.
    examples_per_epoch: for `timing.examples_per_second`.
    report: optional (model, split) -> dict of extra results (e.g. the RaCT
      critic's correlation), called with the best weights restored.
    milestones: optional {name: epochs}: the best model after that many
      epochs is also reported and compared with the final one (e.g. RaCT's
      and CF-SFL's pre-trained actor, "pretrained": actor_epochs).
    diagnostics: optional (model, split) -> dict of numbers recorded with
      every validation in the history (the model of that epoch); results.json
      `diagnostics` has the last epoch's ("final") and the selected model's.
    restore_best_at: optional epoch before which the model returns to the
      best validation epoch so far (RaCT's critic stages).
  """

  model: object
  dataset_fn: object
  examples_per_epoch: int | None = None
  report: object = None
  milestones: dict | None = None
  diagnostics: object = None
  restore_best_at: int | None = None


def run_trainable(config: RunConfig, build) -> dict:
  """Trains a gradient-based method and writes its results.

  `build(split, config) -> Trainable` constructs the method on the run's split.
  Under `config.strategy` the model is built in the strategy's scope and every
  worker trains; only the chief writes results.json (see `distribution`).
  """
  from tfrankcf.training import distribution  # pylint: disable=g-import-not-at-top
  from tfrankcf.training.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top
  strategy = distribution.strategy_for(config.strategy)  # before anything runs in TF
  output_dir = distribution.worker_dir(strategy, config.resolved_output_dir())
  split = load_run_split(config)
  write_json(os.path.join(output_dir, CONFIG_FILE), dataclasses.asdict(config))
  seed_everything(config.seed)
  with strategy.scope():
    trainable = build(split, config)
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
      output_dir, epochs=config.epochs, eval_every=config.eval_every,
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
    outcome.update(trainable.report(trainable.model, split))
  if not distribution.is_chief(strategy):
    outcome.pop("per_user")
    return outcome  # the chief writes the run's results
  results = write_run(config, split, outcome)
  export_if_requested(config, trainable.model, split)
  return results
