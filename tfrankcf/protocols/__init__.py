"""Evaluation protocols: deterministic functions of (dataset, seed) returning a `Split`.

`make_split` is the one entry point: it builds the named protocol's split, or
loads it from the cache directory when the same (data, protocol, options,
seed) was split before, so that all methods of a comparison share it.
"""

import logging
import os

from tfrankcf.errors import InputError
from tfrankcf.protocols.cache import load_split, save_split, split_key
from tfrankcf.protocols.given import given
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
    if os.path.exists(path):
      logging.info("Loaded cached split %s", path)
      split = load_split(path)
      split.info["cache_path"] = path
      return split
  if protocol == "loo_sampled":
    split = loo_sampled(interactions, seed, **options)
  elif protocol == "loo_full":
    split = loo_full(interactions, seed, **options)
  elif protocol == "strong":
    split = strong(interactions, seed, **options)
  else:
    split = given(interactions, test_interactions, seed, **options)
  split.info["dataset"] = interactions.name
  if path:
    save_split(split, path)
    split.info["cache_path"] = path
    logging.info("Saved split %s", path)
  return split


__all__ = ["EvalSet", "Split", "PROTOCOLS", "make_split", "load_vaecf_split",
           "is_vaecf_dir", "save_split", "load_split"]
