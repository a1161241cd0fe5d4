"""Evaluation protocols: deterministic functions of (dataset, seed) returning a `Split`.

`make_split` is the one entry point: it builds the named protocol's split, or
loads it from the cache directory when the same (data, protocol, options,
seed) was split before, so that all methods of a comparison share it.
"""

import logging
import os

from tfrankcf.errors import InputError
from tfrankcf.protocols.cache import load_split, save_split, split_key
from tfrankcf.protocols.given import VALIDATION_RULES, given
from tfrankcf.protocols.leave_one_out import loo_full, loo_sampled
from tfrankcf.protocols.split import EvalSet, Split
from tfrankcf.protocols.strong import strong
from tfrankcf.protocols.vaecf import is_vaecf_dir, load_vaecf_split

PROTOCOLS = ("loo_sampled", "loo_full", "strong", "given")


def make_split(protocol: str, interactions, seed: int, test_interactions=None,
               cache_dir: str | None = None, **options) -> Split:
  """The `protocol` split of `interactions`, cached under `cache_dir` when given."""
  if protocol not in PROTOCOLS:
    raise InputError(f"unknown protocol '{protocol}'; choose one of "
                     f"{', '.join(PROTOCOLS)}")
  path = None
  if cache_dir:
    key = split_key(protocol, seed, options, interactions, test_interactions)
    path = os.path.join(cache_dir, key + ".npz")
  if path and os.path.exists(path):
    split = load_split(path)
    logging.info("Loaded cached split %s", path)
  else:
    if protocol == "loo_sampled":
      split = loo_sampled(interactions, seed, **options)
    elif protocol == "loo_full":
      split = loo_full(interactions, seed, **options)
    elif protocol == "strong":
      split = strong(interactions, seed, **options)
    else:
      split = given(interactions, test_interactions, seed, **options)
    if path:
      save_split(split, path)
      logging.info("Saved split %s", path)
  # Named after caching: a cached split may come from another file with the same contents.
  _record_source(split, interactions, test_interactions)
  if path:
    split.info["cache_path"] = path
  if "validation_item" in split.info:
    logging.info("%s: validation item = %s", protocol,
                 VALIDATION_RULES[split.info["validation_item"]])
  return split


def _record_source(split: Split, interactions, test_interactions) -> None:
  """Names this run's data in `split.info`: `dataset`, and `test_dataset` when given."""
  split.info["dataset"] = interactions.name
  if test_interactions is not None:
    split.info["test_dataset"] = test_interactions.name


__all__ = ["EvalSet", "Split", "PROTOCOLS", "make_split", "load_vaecf_split",
           "is_vaecf_dir", "save_split", "load_split"]
