"""`RunConfig`: everything a run needs, built from flags and recorded in results.json."""

import dataclasses
import os
import re


@dataclasses.dataclass
class RunConfig:
  """The common part of every run's configuration.

  Method-specific settings go into `params`; a run is reproducible from
  `dataclasses.asdict(config)`, which results.json records as `config`.
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
  params: dict = dataclasses.field(default_factory=dict)

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
