"""Which registered dataset a comparison's `--dataset` holds, to choose the methods' flagfiles.

Flagfiles name registered datasets only (`--dataset=ml1m`); a comparison may
name a path instead. The kind of a `--dataset` is:

  * a registered name: that dataset;
  * a Mult-VAE split directory (`protocols.vaecf`): the one registered name
    its directory name contains, its words joined (case, `-`, `_` and `.`
    ignored: `ml-1m-vaecf` -> ml1m, `ML_20M_split` -> ml20m);
  * any other path: the registered dataset whose release file has this file
    name, as `datasets.registry` reads it (`u.data` -> ml100k,
    `ratings.dat` -> ml1m, `ratings.csv` -> ml20m,
    `pinterest-20.train.rating` -> pinterest);
  * otherwise none (the reason says why).
"""

import os
import re

from tfrankcf.datasets.registry import REGISTRY, SPECS
from tfrankcf.protocols.vaecf import is_vaecf_dir


def _release_files() -> dict:
  """{file name: [registered datasets whose training files have that name]}."""
  names = {}
  for spec in SPECS:
    for part in spec.train:
      name = os.path.basename(part.member) if part.member else part.remote.filename
      names.setdefault(name, []).append(spec.name)
  return names


def _named_in(directory_name: str) -> list[str]:
  """The registered names formed by consecutive words of a directory's name."""
  words = [word for word in re.split(r"[-_.\s]+", directory_name.lower()) if word]
  found = []
  for start in range(len(words)):
    for end in range(start + 1, len(words) + 1):
      joined = "".join(words[start:end])
      if joined in REGISTRY and joined not in found:
        found.append(joined)
  return found


def dataset_kind(dataset: str) -> tuple:
  """(registered name or None, why): the kind of dataset `dataset` holds (module docstring)."""
  if dataset in REGISTRY:
    return dataset, "a registered dataset"
  path = os.path.normpath(dataset)
  base = os.path.basename(path)
  if is_vaecf_dir(path):
    found = _named_in(base)
    if len(found) == 1:
      return found[0], f"a Mult-VAE split directory named for {found[0]}"
    which = "no" if not found else "more than one (" + ", ".join(found) + ")"
    return None, (f"a Mult-VAE split directory whose name '{base}' names {which} "
                  "registered dataset")
  if os.path.isdir(path):
    return None, "a directory but not a Mult-VAE split"
  owners = _release_files().get(base, [])
  if len(owners) == 1:
    return owners[0], f"{owners[0]}'s release file {base}"
  if owners:
    return None, f"{base} is the release file of {', '.join(owners)}"
  return None, f"'{base}' is not the release file of a registered dataset"
