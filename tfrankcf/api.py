"""The public Python API: a split, a method from the registry, training, evaluation, export.

  >>> import tensorflow as tf, tfrankcf
  >>> split = tfrankcf.load_split("ml100k", protocol="strong", data_dir=data_dir)
  >>> config = tfrankcf.method_config("dae", dae_hidden=50)   # typed: a bad name is an error
  >>> trained = tfrankcf.train("dae", protocol="strong", epochs=2, data_dir=data_dir,
  ...                          output_dir=run_dir, method_config=config)  # doctest: +ELLIPSIS
  dae on ml100k, protocol strong: epoch ... selected on valid ndcg@100
  ...
  >>> isinstance(trained.model, tf.keras.Model), 0 < trained.evaluation.test["ndcg@100"] < 1
  (True, True)
  >>> result = tfrankcf.evaluate(trained.model, split.test, protocol="strong")
  >>> result.means["ndcg@100"] == trained.evaluation.test["ndcg@100"]
  True
  >>> tfrankcf.export(trained, export_dir) == export_dir
  True

`train` runs exactly what the binaries run (they are thin callers of it): it
writes the run directory (config.json, results.json, checkpoints; a rerun
resumes), prints the binaries' summary, and returns a `Trained`: the Keras
model of the selected epoch, its `Evaluation` (valid/test means, per-user
results, history), the typed config and the split. `method_names()` lists what
`train` accepts (every registered method and variant, plugins included:
`tfrankcf.methods.registry`).
"""

import dataclasses

from tfrankcf.methods import registry
from tfrankcf.metrics import evaluate as evaluate_model
from tfrankcf.metrics.evaluator import EvalResult
from tfrankcf.protocols.reporting import REPORTING
from tfrankcf.protocols.split import Split
from tfrankcf.serving.export import export_model
from tfrankcf.training import run as runs
from tfrankcf.training.config import RunConfig
from tfrankcf.training.config_flags import config_from_dict

__all__ = ["Evaluation", "RunConfig", "Trained", "evaluate", "export", "load_split",
           "method_config", "method_names", "train"]


@dataclasses.dataclass
class Evaluation:
  """A trained method's evaluation (the selected epoch's, or the fitted baseline's).

  Attributes:
    valid: validation metrics' means ({"ndcg@100": ...}).
    test: test metrics' means.
    per_user: {"valid": EvalResult, "test": EvalResult, ...}: per-user values.
    history: one entry per epoch (loss, validation metrics); empty for a fit.
    best_epoch: the selected epoch (None for a closed-form fit).
  """

  valid: dict
  test: dict
  per_user: dict
  history: list
  best_epoch: int | None


@dataclasses.dataclass
class Trained:
  """What `train` returns.

  Attributes:
    model: the trained model (a Keras `tfrankcf.methods.base.Model`, or EASE / ItemPop).
    evaluation: its `Evaluation`.
    config: the run's `RunConfig` (with what a closed-form fit selected).
    split: the split it was trained and evaluated on.
    results: results.json's content.
    export_path: the SavedModel written (`config.export_dir`), else None.
  """

  model: object
  evaluation: Evaluation
  config: RunConfig
  split: Split
  results: dict | None
  export_path: str | None = None


def method_names() -> list[str]:
  """The names `train` (and `compare --methods`) accept, in registry order."""
  return [entry.name for entry in registry.entries()]


def method_config(method: str, **values):
  """The typed settings of `method`: its variant's values and its defaults, `values` changed.

  An unknown setting is an `InputError` listing the known ones.
  """
  entry = registry.get(method)
  fixed = dict(entry.variant.values)
  fixed.update(values)
  return config_from_dict(entry.spec.config, fixed, what=f"{method} settings")


def load_split(dataset: str = "ml100k", protocol: str = "loo_sampled", seed: int = 0,
               **options) -> Split:
  """The protocol's split of `dataset` (a registered name, a file or a Mult-VAE directory).

  `options` are `RunConfig`'s data settings (split_seed, data_dir, sep, test_file,
  positive_threshold, heldout_users, num_negatives); the split is cached on disk.
  """
  return runs.load_run_split(RunConfig(method="itempop", dataset=dataset, protocol=protocol,
                                       seed=seed, **options))


def train(config, **settings) -> Trained:
  """Trains (or fits) a method and writes its run directory, as the binaries do.

  `config` is a `RunConfig`, or a method name with `settings` the `RunConfig`
  fields (dataset, protocol, epochs, output_dir, method_config, ...). Exports the
  selected model when `config.export_dir` is set.
  """
  if not isinstance(config, RunConfig):
    config = RunConfig(method=config, **settings)
  elif settings:
    config = dataclasses.replace(config, **settings)
  done = runs.train_run(config)
  outcome = done.outcome
  evaluation = Evaluation(valid=outcome["metrics"]["valid"], test=outcome["metrics"]["test"],
                          per_user=outcome.get("per_user", {}),
                          history=outcome.get("history", []),
                          best_epoch=outcome.get("best_epoch"))
  trained = Trained(done.model, evaluation, done.config, done.split, done.results)
  if config.export_dir and done.results is not None:
    trained.export_path = export(trained, config.export_dir, config.export_top_k)
    print(f"saved model: {trained.export_path}")
  return trained


def evaluate(model, eval_set, protocol: str = "loo_sampled", batch_size: int = 1000
             ) -> EvalResult:
  """`model`'s metrics on `eval_set` (a split's valid or test), the protocol's metrics."""
  reporting = REPORTING[protocol]
  return evaluate_model(model, eval_set, ks=reporting.ks, metric_names=reporting.names,
                        batch_size=batch_size)


def export(trained, export_dir: str, top_k: int = 100, split: Split | None = None,
           item_names=None) -> str:
  """Exports a `Trained` (or a model with its `split`) as a SavedModel; returns its path."""
  if isinstance(trained, Trained):
    model, split = trained.model, split or trained.split
  else:
    model = trained
  if split is None:
    raise ValueError("export a model with the split it was trained on (split=...)")
  return export_model(model, split, export_dir, top_k, item_names=item_names)
