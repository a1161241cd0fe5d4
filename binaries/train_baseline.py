r"""Trains and evaluates a baseline on one split; writes <output_dir>/results.json.

  train_baseline --method=ease --dataset=ml100k --protocol=loo_sampled
  train_baseline --method=itempop --dataset=/path/ratings.csv --protocol=strong
  train_baseline --method=vae --protocol=strong --epochs=100
  train_baseline --backbone=graphrec --loss=listmle --epochs=44
  train_baseline --method=vae --loss=approx_ndcg --candidates=all --protocol=strong

Closed-form baselines (itempop, ease) ignore --epochs and --batch_size; EASE
chooses its L2 weight on the validation users. The autoencoder actors (vae,
dae, mf, warp) and MF-BPR (bpr) train with their own objective; an autoencoder
may swap its reconstruction term for a TF-Ranking --loss (on --list_size
sampled items per user, or --candidates=all for approx_ndcg), keeping its
dropout, KL term and annealing. A pairwise backbone (--backbone=graphrec|neumf)
trains with one --loss on sampled lists (log loss or a TF-Ranking loss).
Trained methods choose the epoch on validation users. Each method's flags are
those of its settings (`--method=<name> --help` lists only them).
"""

from absl import flags

from tfrankcf import api
from tfrankcf.methods import registry
from tfrankcf.training import cli
from tfrankcf.training import flags as common_flags

BINARY = "train_baseline"
LISTWISE = "listwise"  # the --method a --backbone implies
DEFAULT_METHOD = "ease"


def _selectors() -> dict:
  """{--method value: (spec, config values it fixes)} of the specs this binary trains."""
  return {selector: (spec, dict(fixed)) for spec in registry.specs() if spec.binary == BINARY
          for selector, fixed in spec.selected_by.items()}


SELECTORS = _selectors()
BACKBONES = SELECTORS[LISTWISE][0].config.__dataclass_fields__["backbone"].type.__args__

flags.DEFINE_enum("method", DEFAULT_METHOD, list(SELECTORS),
                  f"Baseline to run ('{LISTWISE}' = --backbone trained with --loss; "
                  "implied by --backbone).")
flags.DEFINE_enum("backbone", None, list(BACKBONES),
                  "Pairwise backbone scoring (user, item) pairs (implies "
                  f"--method={LISTWISE}; default {BACKBONES[0]}).")
common_flags.define_epochs_flag("Training epochs (>= 1; ignored by itempop and ease).",
                                lower_bound=None)
cli.help_group("method", ["method", "backbone"])

FLAGS = flags.FLAGS
_SELECTED = []  # the (spec, fixed, flag names) this process defined the flags of


def selected_method(method: str | None, backbone: str | None) -> str:
  """--method, or the list-wise method when --backbone is given without --method."""
  if backbone and not method:
    return LISTWISE
  return method or DEFAULT_METHOD


def define(argv) -> None:
  """Defines the selected method's flags (--method / --backbone, flagfiles included)."""
  given = cli.preparse(argv, ("method", "backbone"))
  if not given and cli.wants_help(argv):
    return  # --help without a method: every method's group (`help_groups`)
  method = selected_method(given.get("method"), given.get("backbone"))
  if method not in SELECTORS:
    return  # the parse names a bad --method
  spec, fixed = SELECTORS[method]
  if _SELECTED:  # selected again in the same process (tests): the new method's flags only
    if _SELECTED[0][:2] == (spec, fixed):
      return
    common_flags.undefine_method_flags(_SELECTED.pop()[2])
  names = common_flags.define_method_flags(spec, skip=fixed, epochs=False,
                                           title=_title(spec, _selectors_of(spec)))
  _SELECTED.append((spec, fixed, names))


def _selectors_of(spec) -> list:
  return [selector for selector, (other, _) in SELECTORS.items() if other is spec]


def _title(spec, selectors) -> str:
  selector = ("--backbone=" + "|".join(BACKBONES) if selectors == [LISTWISE]
              else "--method=" + "|".join(selectors))
  return common_flags.help_title(spec, selector)


def help_groups() -> list:
  """Without --method: every method's flags, each group with that method's defaults."""
  if _SELECTED:
    return []
  shown = {}
  for selector, (spec, fixed) in SELECTORS.items():
    shown.setdefault(spec.name, (spec, [], fixed))[1].append(selector)
  groups = []
  for spec, selectors, fixed in shown.values():
    _, group_flags = common_flags.spec_help_groups([(spec, "")], skip=fixed)[0]
    groups.append((_title(spec, selectors),
                   [flag for flag in group_flags if flag.name != "backbone"]))
  return groups


def _check_epochs(values: dict) -> bool:
  method = selected_method(values["method"] if FLAGS["method"].present else None,
                           values["backbone"])
  if method in SELECTORS and not SELECTORS[method][0].closed_form and values["epochs"] < 1:
    closed = [name for name, (spec, _) in SELECTORS.items() if spec.closed_form]
    raise flags.ValidationError(
        f"--epochs={values['epochs']}: must be at least 1 ({method} trains for --epochs "
        f"epochs; only {' and '.join(closed)} ignore it)")
  return True


flags.register_multi_flags_validator(["epochs", "method", "backbone"], _check_epochs)


def main(argv):
  del argv
  spec, fixed, _ = _SELECTED[0]
  api.train(common_flags.run_config(spec, fixed))


def entry_point():
  cli.run(main, define)


if __name__ == "__main__":
  entry_point()
