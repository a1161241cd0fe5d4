"""`Trainable`: what a method's builder hands to the fit loop."""

import dataclasses


@dataclasses.dataclass
class Trainable:
  """What `MethodSpec.build(split, run_config)` returns for `training.run.run_trainable`.

  Attributes:
    model: a compiled `tfrankcf.methods.base.Model`.
    dataset_fn: epoch -> that epoch's training batches, deterministic in
      (seed, epoch) so that a resumed run repeats the interrupted epoch.
    examples_per_epoch: for `timing.examples_per_second`.
    report: optional (model, split, reporting) -> dict of extra results (e.g. the
      RaCT critic's correlation), called with the best weights restored;
      `reporting` is the run's `tfrankcf.protocols.reporting.Reporting`.
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
