"""`MethodSpec`: everything the rest of the package needs to know about one method.

Each method module declares its spec at its bottom and registers it
(`tfrankcf.methods.registry.register`); the binaries, `compare`,
`export_model` and the Python API read nothing else. A spec names its typed
settings (`config`, a dataclass whose fields are the method's flags), how it
is made on a split (`build` for a trained method, `fit` for a closed-form
one), and how `compare` runs and reads it.

A loss on a backbone (or an actor with another reconstruction term) is a
`Variant` of one spec: a name, a label and the config values it fixes. A
variant is looked up by name (or alias), never parsed from a string; a run
records the name of the most specific variant its config matches.
"""

import dataclasses
from typing import Callable, Mapping

ROLES = ("baseline", "proposed")
# Labels of the list-wise losses (`tfrankcf.losses.ranking.LOSSES`) in tables and plots, in
# the order `compare` lists the variants that train with them.
LOSS_LABELS = {"logloss": "log loss", "listmle": "ListMLE", "approx_ndcg": "ApproxNDCG",
               "gumbel_approx_ndcg": "Gumbel-ApproxNDCG", "neural_sort": "NeuralSort",
               "softmax": "Softmax", "pairwise_logistic": "pairwise logistic"}
# `train_baseline --loss`: a backbone's list-wise loss or an autoencoder's term (one flag).
LOSS_CHOICES = tuple(LOSS_LABELS) + ("multinomial",)
SCORES_BY = ("history", "id")


@dataclasses.dataclass(frozen=True)
class Variant:
  """A named setting of a spec, e.g. GraphRec trained with ListMLE.

  Attributes:
    name: the name `--methods`, `tfrankcf_train --method` and results.json use.
    label: the name in tables and plots.
    values: the config fields it fixes ({"backbone": "graphrec", "loss": "listmle"}).
    aliases: other names that resolve to it (names older runs recorded).
    compare_flags: flags `compare` adds for it (e.g. the paper's weight decay).
    dataset_flags: {dataset: flags} `compare` adds on that dataset (e.g. its epochs).
    listed: offered by `compare --methods` (False: only resolves a recorded run).
    family: its flagfile family when it is not the spec's (e.g. Mult-DAE's).
  """

  name: str
  label: str
  values: Mapping = dataclasses.field(default_factory=dict)
  aliases: tuple = ()
  compare_flags: tuple = ()
  dataset_flags: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
  listed: bool = True
  family: str | None = None


@dataclasses.dataclass(frozen=True)
class MethodSpec:
  """One method: its settings, how it is made, and how it is run and read.

  Attributes:
    name: the spec's name (also its first variant's when `variants` is empty).
    label: the name in tables and plots.
    config: the settings dataclass; its fields are the method's flags
      (`tfrankcf.training.config_flags`) and results.json's `config.method_config`.
    build: `build(split, run_config) -> Trainable` of a trained method.
    fit: `fit(split, run_config, validate) -> (model, method_config, selection)` of a
      closed-form method: `validate(model)` is the validation metrics' means; the
      returned config records what the fit selected (EASE's L2), so that refitting
      with it (export) makes the same model without a sweep.
    role: "baseline" or "proposed" (a method of this package's papers).
    scores_by: "history" (scores any user's history) or "id" (a training user's id:
      cannot score the unseen users of `strong`).
    binary: the module of `binaries/` that trains it.
    selected_by: {value of the binary's `--method`: config values it fixes}, for a
      binary that trains several specs (train_baseline); empty: the binary trains
      only this spec.
    family: flagfile family: `configs/<family>_*.cfg` hold its published settings.
    stages: the config fields that are stage lengths (a staged method: the run
      lasts their sum and `--epochs` is the last one); empty: `--epochs`.
    compare_defaults: flags `compare` gives before the flagfile (e.g. `--epochs=200`
      for a trained method, whose binary's own default is 1).
    variants: its named variants; empty: one, named and labelled as the spec.
    default_protocol: the binary's default `--protocol` (None: loo_sampled).
    default_epochs: the binary's default `--epochs` (None: 1).
    default_batch_size: the binary's default `--batch_size` (None: 0, the method's).
    check: optional `check(config)` run before any data is read: raises `InputError`
      for a combination of settings that cannot run.
    selected: optional `selected(method_config) -> str`: what a closed-form fit
      selected on validation (e.g. "L2 500"), for the run's summary.
    help_title: the --help group of its flags (default: the label and how the
      binary selects it).
  """

  name: str
  label: str
  config: type
  build: Callable | None = None
  fit: Callable | None = None
  role: str = "baseline"
  scores_by: str = "history"
  binary: str = "train"
  selected_by: Mapping[str, Mapping] = dataclasses.field(default_factory=dict)
  family: str | None = None
  stages: tuple = ()
  compare_defaults: tuple = ()
  variants: tuple = ()
  default_protocol: str | None = None
  default_epochs: int | None = None
  default_batch_size: int | None = None
  check: Callable | None = None
  selected: Callable | None = None
  help_title: str | None = None

  def __post_init__(self):
    if (self.build is None) == (self.fit is None):
      raise ValueError(f"method {self.name}: give exactly one of build and fit")
    if self.role not in ROLES or self.scores_by not in SCORES_BY:
      raise ValueError(f"method {self.name}: role must be one of {ROLES}, scores_by of "
                       f"{SCORES_BY}")
    if not self.variants:
      object.__setattr__(self, "variants", (Variant(self.name, self.label),))

  @property
  def closed_form(self) -> bool:
    """Deterministic given the split: one fit, no epochs."""
    return self.fit is not None

  @property
  def protocols(self) -> tuple:
    """The protocols it can be evaluated under."""
    if self.scores_by == "id":
      return ("loo_sampled", "loo_full", "given")
    return ("loo_sampled", "loo_full", "strong", "given")

  def family_of(self, variant: Variant) -> str | None:
    """The flagfile family of `variant`: its own, else the spec's."""
    return variant.family or self.family

  def run_epochs(self, config, epochs: int) -> int:
    """The run's epochs: the stages' sum for a staged method, else `epochs`."""
    if self.stages:
      return sum(getattr(config, name) for name in self.stages)
    return epochs

  def variant_of(self, config) -> Variant:
    """The most specific variant whose fixed values `config` has (the run's name)."""
    matching = [variant for variant in self.variants
                if all(getattr(config, key) == value for key, value in variant.values.items())]
    if not matching:
      return self.variants[0]
    return max(matching, key=lambda variant: len(variant.values))

  def selector_of(self, variant: Variant) -> tuple[str | None, dict]:
    """(`--method` value, the values left to give as flags) that run `variant` on its binary."""
    values = dict(variant.values)
    for selector, fixed in self.selected_by.items():
      if all(values.get(key) == value for key, value in fixed.items()):
        return selector, {key: value for key, value in values.items() if key not in fixed}
    return None, values
