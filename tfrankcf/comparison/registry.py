"""Every method `compare` can run: its binary, its flags, its flagfile family and its role.

A `MethodSpec` says how one row of a comparison is trained (which binary of
`binaries/`, with which flags, and which `configs/<family>_<dataset>*.cfg`
holds its published settings) and how it is read: a baseline or a proposed
method (the paired tests are against the best baseline), closed-form (one
deterministic fit on the shared split, paired with every training seed) or
trained per seed, ID-based (cannot score the unseen users of `strong`).
"""

import dataclasses
from typing import Mapping

from tfrankcf.errors import InputError

# Epochs of a trained method when neither a flagfile nor the registry knows
# better (the binaries' own default is 1): vae_cf's 200.
DEFAULT_EPOCHS = 200
# Backbone losses (GraphRec / NeuMF on sampled lists), as `train_baseline --loss`.
BACKBONE_LOSSES = ("logloss", "listmle", "approx_ndcg", "gumbel_approx_ndcg", "neural_sort",
                   "softmax", "pairwise_logistic")
# Autoencoder reconstruction terms from TF-Ranking (`train_baseline --method=vae --loss`).
AUTOENCODER_LOSSES = BACKBONE_LOSSES[1:]
# GuidedRec paper App. B: each loss's best epoch on ML-100K (graphrec-losses_ml100k.cfg).
ML100K_LOSS_EPOCHS = {"logloss": 320, "gumbel_approx_ndcg": 464, "approx_ndcg": 320,
                      "listmle": 44, "softmax": 266, "pairwise_logistic": 65,
                      "neural_sort": 151}
LOSS_LABELS = {"logloss": "log loss", "listmle": "ListMLE", "approx_ndcg": "ApproxNDCG",
               "gumbel_approx_ndcg": "Gumbel-ApproxNDCG", "neural_sort": "NeuralSort",
               "softmax": "Softmax", "pairwise_logistic": "pairwise logistic"}


@dataclasses.dataclass(frozen=True)
class MethodSpec:
  """How `compare` trains and reads one method.

  Attributes:
    name: the `--methods` name, also the run directory's.
    label: the name in tables and plots.
    binary: module of `tfrankcf.binaries` that trains it.
    flags: the method's own flags (after its flagfile).
    family: flagfile family: `configs/<family>_*.cfg` matching the dataset and
      protocol is used (None: no flagfile).
    defaults: flags before the flagfile (what compare assumes when the
      flagfile does not say, e.g. `--epochs`).
    dataset_flags: {dataset: flags} after the method's flags (e.g. the
      paper's epochs for that dataset).
    baseline: a baseline (else a proposed method of this package's papers).
    closed_form: deterministic given the split: one fit, paired with every seed.
    id_based: scores users by their training id (not under `strong`).
  """

  name: str
  label: str
  binary: str
  flags: tuple = ()
  family: str | None = None
  defaults: tuple = ()
  dataset_flags: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
  baseline: bool = True
  closed_form: bool = False
  id_based: bool = False

  @property
  def protocols(self) -> tuple:
    if self.id_based:
      return ("loo_sampled", "loo_full", "given")
    return ("loo_sampled", "loo_full", "strong", "given")


def _methods() -> dict:
  trained = (f"--epochs={DEFAULT_EPOCHS}",)
  specs = [
      MethodSpec("itempop", "ItemPop", "train_baseline", ("--method=itempop",),
                 closed_form=True),
      MethodSpec("ease", "EASE", "train_baseline", ("--method=ease",), closed_form=True),
      MethodSpec("bpr", "MF-BPR", "train_baseline", ("--method=bpr",), defaults=trained,
                 id_based=True),
  ]
  for actor, label in (("vae", "Mult-VAE"), ("dae", "Mult-DAE"), ("mf", "MF (Gaussian)"),
                       ("warp", "WARP")):
    family = f"{actor}-losses" if actor in ("vae", "dae") else None
    specs.append(MethodSpec(actor, label, "train_baseline", (f"--method={actor}",),
                            family=family, defaults=trained))
    if actor in ("vae", "dae"):
      for loss in AUTOENCODER_LOSSES:
        specs.append(MethodSpec(f"{actor}_{loss}", f"{label}, {LOSS_LABELS[loss]}",
                                "train_baseline", (f"--method={actor}", f"--loss={loss}"),
                                family=family, defaults=trained))
      specs.append(MethodSpec(f"{actor}_approx_ndcg_all", f"{label}, full ApproxNDCG",
                              "train_baseline", (f"--method={actor}", "--loss=approx_ndcg",
                                                 "--candidates=all"),
                              family=family, defaults=trained))
  for loss in BACKBONE_LOSSES:
    own = ("--weight_decay=0.00001",) if loss == "logloss" else ()  # GraphRec.py's AdamW
    specs.append(MethodSpec(
        loss, LOSS_LABELS[loss], "train_baseline",
        ("--backbone=graphrec", f"--loss={loss}") + own, family="graphrec-losses",
        defaults=trained, dataset_flags={"ml100k": (f"--epochs={ML100K_LOSS_EPOCHS[loss]}",)},
        id_based=True))
    specs.append(MethodSpec(
        f"neumf_{loss}", f"NeuMF, {LOSS_LABELS[loss]}", "train_baseline",
        ("--backbone=neumf", f"--loss={loss}") + own, defaults=trained, id_based=True))
  specs += [
      MethodSpec("guidedrec", "GuidedRec", "train_guidedrec", ("--backbone=graphrec",),
                 family="guidedrec", baseline=False, id_based=True),
      MethodSpec("guidedrec_neumf", "GuidedRec (NeuMF)", "train_guidedrec",
                 ("--backbone=neumf",), family="guidedrec", baseline=False, id_based=True),
      MethodSpec("ract", "RaCT", "train_ract", family="ract", baseline=False),
      MethodSpec("cfsfl", "CF-SFL", "train_cfsfl", family="cfsfl", baseline=False),
      MethodSpec("apr", "APR", "train_apr", family="apr", baseline=False, id_based=True),
  ]
  return {spec.name: spec for spec in specs}


METHODS = _methods()


def get_methods(names, protocol: str) -> list[MethodSpec]:
  """The specs of `names`, checked before anything runs (InputError names the problem)."""
  names = [name.strip() for name in names if name.strip()]
  if not names:
    raise InputError("--methods is empty; choose from " + ", ".join(METHODS))
  duplicates = sorted({name for name in names if names.count(name) > 1})
  if duplicates:
    raise InputError(f"--methods lists {', '.join(duplicates)} more than once")
  unknown = [name for name in names if name not in METHODS]
  if unknown:
    raise InputError(f"unknown method{'s' if len(unknown) > 1 else ''} "
                     f"{', '.join(repr(n) for n in unknown)}; choose from "
                     + ", ".join(METHODS))
  specs = [METHODS[name] for name in names]
  refused = [spec.name for spec in specs if protocol not in spec.protocols]
  if refused:
    raise InputError(f"{', '.join(refused)} score{'s' if len(refused) == 1 else ''} users by "
                     f"their training id and cannot rank the unseen test users of "
                     f"--protocol={protocol}; use loo_sampled, loo_full or given")
  return specs
