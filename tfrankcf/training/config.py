"""`RunConfig`: everything a run needs, built from flags and recorded in config.json.

The settings shared by every method are its fields; the method's own are
`method_config`, an instance of its spec's config dataclass
(`tfrankcf.methods.spec.MethodSpec.config`). config.json and results.json's
`config` record `to_dict()`, and `RunConfig.from_dict` rebuilds the same
typed config from it alone (export_model and resume use it); an unknown
setting is an error, never dropped.
"""

import dataclasses
import os
import re
from typing import Mapping

from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.training.config_flags import config_from_dict

# Runs recorded before typed settings kept them in an untyped `params` mapping whose keys are
# the config fields' names, but for these.
LEGACY_PARAM_NAMES = {"reconstruction": "loss"}


@dataclasses.dataclass
class RunConfig:
  """One run's configuration.

  `method` names a registry entry (a variant's name; an alias becomes it). `method_config`
  is its spec's config dataclass; None stands for the defaults, a mapping for
  those defaults with the mapping's fields changed (checked: an unknown key is
  an `InputError`). The variant's fixed values (e.g. the loss of "listmle")
  apply in both cases, not to a config given as a dataclass.
  """

  method: str
  dataset: str = "ml100k"
  protocol: str = "loo_sampled"
  seed: int = 0
  split_seed: int | None = None
  epochs: int = 1
  batch_size: int = 0
  output_dir: str = ""
  overwrite: bool = False
  data_dir: str | None = None
  sep: str | None = None
  test_file: str | None = None
  eval_every: int = 1
  early_stopping_patience: int = 0
  eval_batch_size: int = 1000
  positive_threshold: float | None = None
  heldout_users: float | None = None
  num_negatives: int = 99
  steps_per_execution: int = 1
  jit_compile: bool = False
  strategy: str = "default"
  export_dir: str = ""
  export_top_k: int = 100
  method_config: object = None

  def __post_init__(self):
    entry = registry.get(self.method)
    self.method = entry.name  # an alias (a name older runs recorded) is its canonical name
    if self.method_config is None or isinstance(self.method_config, Mapping):
      values = dict(entry.variant.values)
      values.update(self.method_config or {})
      self.method_config = config_from_dict(entry.spec.config, values,
                                            what=f"{self.method} settings")
    elif not isinstance(self.method_config, entry.spec.config):
      raise InputError(f"{self.method}: method_config must be a "
                       f"{entry.spec.config.__name__}, got "
                       f"{type(self.method_config).__name__}")

  @property
  def spec(self):
    """The method's `MethodSpec`."""
    return registry.get(self.method).spec

  @property
  def effective_split_seed(self) -> int:
    """The seed of the split: `split_seed` when set (one split, many training seeds)."""
    return self.seed if self.split_seed is None else self.split_seed

  def resolved_output_dir(self) -> str:
    """`output_dir`, or runs/<method>_<dataset>_<protocol>_s<seed> when empty."""
    if self.output_dir:
      return self.output_dir
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(
        os.path.normpath(self.dataset)))
    return os.path.join("runs", f"{self.method}_{dataset}_{self.protocol}_s{self.seed}")

  def to_dict(self) -> dict:
    """The JSON-ready record of config.json (tuples become lists when written)."""
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, recorded: Mapping) -> "RunConfig":
    """The `RunConfig` of a recorded `to_dict()`; an unknown field is an `InputError`."""
    names = {field.name for field in dataclasses.fields(cls)} | {"params"}
    unknown = sorted(set(recorded) - names)
    if unknown:
      raise InputError(f"unknown run setting{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(unknown)}")
    if "method" not in recorded:
      raise InputError("no method recorded")
    values = dict(recorded)
    entry = registry.get(values["method"])
    if "params" in values and "method_config" not in values:  # an older run's record
      settings = dict(entry.variant.values)
      settings.update({LEGACY_PARAM_NAMES.get(key, key): value
                       for key, value in (values.pop("params") or {}).items()})
    else:
      settings = values.get("method_config") or {}
    values["method_config"] = config_from_dict(entry.spec.config, settings,
                                               what=f"{values['method']} settings")
    return cls(**values)
