"""Exporting a run from its output directory: rebuild, restore a checkpoint, export.

A run records its `RunConfig` in config.json when it starts and again in
results.json when it ends, so a finished or an interrupted run can be
exported. The method is rebuilt by its spec (`tfrankcf.methods.registry`, from
the recorded `method` and typed `method_config`) on the same cached split, and
its weights come from `best/` (the selected validation epoch, which training
exports too) or `checkpoints/` (the latest epoch). A closed-form method is
refitted by its spec's `fit` with the recorded settings (EASE's selected L2
weight: exact; an interrupted EASE run sweeps again, which selects the same).
"""

import json
import os

import tensorflow as tf

from tfrankcf.errors import InputError
from tfrankcf.metrics import evaluate
from tfrankcf.serving.export import export_model
from tfrankcf.training.config import RunConfig
from tfrankcf.training.run import CONFIG_FILE, load_run_split, reporting_for, seed_everything

RESULTS_FILE = "results.json"
CHECKPOINTS = ("best", "latest")


def load_run_config(run_dir: str) -> RunConfig:
  """The `RunConfig` recorded in `run_dir` (results.json, else config.json)."""
  results_path = os.path.join(run_dir, RESULTS_FILE)
  config_path = os.path.join(run_dir, CONFIG_FILE)
  if os.path.exists(results_path):
    path = results_path
  elif os.path.exists(config_path):
    path = config_path
  else:
    raise InputError(f"no {RESULTS_FILE} or {CONFIG_FILE}: not the output directory of a run",
                     path=run_dir)
  try:
    with open(path) as f:
      recorded = json.load(f)
    if path == results_path:
      recorded = recorded["config"]
    return RunConfig.from_dict(recorded)
  except InputError as error:
    raise InputError(f"unreadable run configuration ({error})", path=path) from error
  except (ValueError, KeyError, TypeError) as error:
    raise InputError(f"unreadable run configuration ({error})", path=path) from error


def checkpoint_path(run_dir: str, checkpoint: str = "best") -> str:
  """The checkpoint prefix of `best/` or the latest one of `checkpoints/`."""
  if checkpoint not in CHECKPOINTS:
    raise InputError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got '{checkpoint}'")
  if checkpoint == "best":
    path = os.path.join(run_dir, "best", "weights")
    if not tf.io.gfile.exists(path + ".index"):
      raise InputError("no best checkpoint (no validation has run yet); "
                       "use --checkpoint=latest", path=os.path.dirname(path))
    return path
  path = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
  if path is None:
    raise InputError("no checkpoint yet", path=os.path.join(run_dir, "checkpoints"))
  return path


def restore_model(config: RunConfig, split, run_dir: str, checkpoint: str = "best"):
  """The run's trained model: rebuilt on `split` with the weights of `checkpoint`."""
  path = checkpoint_path(run_dir, checkpoint)
  seed_everything(config.seed)
  model = config.spec.build(split, config).model
  status = tf.train.Checkpoint(model=model).read(path).expect_partial()
  history = tf.zeros([1, split.num_items if model.uses_history else 0])
  model.predict_scores(tf.zeros([1], tf.int64), history)  # builds lazy variables: restored now
  try:
    status.assert_existing_objects_matched()
  except AssertionError as error:
    raise InputError(f"the checkpoint does not match {config.method} rebuilt from the "
                     f"recorded config ({str(error).splitlines()[0]})", path=path) from error
  return model


def refit(config: RunConfig, split):
  """A closed-form method refitted by its spec with the run's recorded settings."""
  reporting = reporting_for(config)

  def validate(model):
    return evaluate(model, split.valid, ks=reporting.ks, metric_names=reporting.names,
                    batch_size=config.eval_batch_size).means

  model, _, _ = config.spec.fit(split, config, validate, reporting)
  return model


def export_run(run_dir: str, export_dir: str, top_k: int | None = None,
               checkpoint: str = "best", item_names=None) -> str:
  """Exports the model of the run in `run_dir` as a SavedModel; returns its path.

  `top_k` defaults to the run's `export_top_k`; `checkpoint` is "best" or "latest";
  `item_names` (an `ItemNames`) become the export's `item_names` output.
  """
  config = load_run_config(run_dir)
  if checkpoint not in CHECKPOINTS:
    raise InputError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got '{checkpoint}'")
  split = load_run_split(config)
  if config.spec.closed_form:
    model = refit(config, split)
  else:
    model = restore_model(config, split, run_dir, checkpoint)
  return export_model(model, split, export_dir,
                      config.export_top_k if top_k is None else top_k, item_names=item_names)
