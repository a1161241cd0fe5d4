"""`load_dataset`: a registry name or an interactions file, as `LoadedDataset`."""

import dataclasses
import logging
import os

import numpy as np
import pandas as pd

from tfrankcf.datasets import readers
from tfrankcf.datasets.download import default_data_dir, fetch
from tfrankcf.datasets.interactions import Interactions
from tfrankcf.datasets.registry import REGISTRY, DatasetSpec, Part
from tfrankcf.datasets.vaecf_layout import FILES, is_vaecf_dir
from tfrankcf.errors import InputError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class LoadedDataset:
  """A dataset ready for a protocol.

  Attributes:
    interactions: the (training) interactions.
    test_interactions: a fixed test split in the same id space (same user and
      item index maps), or None.
    positive_threshold: `strong` default: ratings >= this are positives (None:
      every row is).
    strong_options: `strong` filters for this dataset (`min_user_items`,
      `min_item_users`).
    spec: the registry entry, None for a file.
    dropped_test_rows: test rows dropped because their user or item never
      occurs in the training data (they cannot be indexed).
  """

  interactions: Interactions
  test_interactions: Interactions | None = None
  positive_threshold: float | None = None
  strong_options: dict = dataclasses.field(default_factory=dict)
  spec: DatasetSpec | None = None
  dropped_test_rows: int = 0


def _with_test(train: pd.DataFrame, test: pd.DataFrame | None, name: str,
               test_name: str) -> tuple[Interactions, Interactions | None, int]:
  """Training interactions and the test split indexed with the training id maps.

  Test rows whose user or item never occurs in training are dropped (and
  counted): no model can score an item it has no column for.
  """
  data = readers.to_interactions(train, name)
  if test is None:
    return data, None, 0
  users = readers.index_in(test["user"], data.user_ids)
  items = readers.index_in(test["item"], data.item_ids)
  known = (users >= 0) & (items >= 0)
  dropped = int(len(known) - known.sum())
  if not known.any():
    raise InputError("no test row has both a user and an item of the training data",
                     path=test_name)
  if dropped:
    logging.warning("%s: dropped %d of %d test rows whose user or item is not in "
                    "the training data", test_name, dropped, len(known))

  def column(role, dtype):
    return test[role].to_numpy(dtype)[known] if role in test else None

  test_data = Interactions(
      users=users[known], items=items[known], ratings=column("rating", np.float32),
      timestamps=column("timestamp", np.int64), user_ids=data.user_ids,
      item_ids=data.item_ids, name=test_name)
  return data, test_data, dropped


def _read_parts(spec: DatasetSpec, parts: tuple[Part, ...], paths: dict[str, str]):
  parse = readers.FORMATS[spec.format]
  frames = [parse(readers.TextSource(paths[part.remote.filename], part.member))
            for part in parts]
  return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _load_registered(spec: DatasetSpec, data_dir: str | None,
                     mirror: str | None) -> LoadedDataset:
  if spec.embedded:
    path = os.path.join(_PACKAGE_DIR, spec.embedded)
    train, test = readers.FORMATS[spec.format](readers.TextSource(path)), None
  else:
    directory = os.path.join(data_dir or default_data_dir(), spec.name)
    paths = {remote.filename: fetch(remote, directory, mirror=mirror, dataset=spec.name)
             for remote in spec.remotes}
    train = _read_parts(spec, spec.train, paths)
    test = _read_parts(spec, spec.test, paths) if spec.test else None
  data, test_data, dropped = _with_test(train, test, spec.name, spec.name + ":test")
  return LoadedDataset(data, test_data, spec.positive_threshold,
                       dict(spec.strong_options), spec, dropped)


def _directory_error(path: str) -> InputError:
  if is_vaecf_dir(path):
    return InputError("is a Mult-VAE split directory: a ready-made split for "
                      "tfrankcf.protocols.load_vaecf_split, not an interactions file",
                      path=path)
  missing = [name for name in FILES if not os.path.exists(os.path.join(path, name))]
  return InputError("is a directory: give an interactions file, or a Mult-VAE split "
                    f"directory (missing {', '.join(missing)})", path=path)


def _looks_like_path(text: str) -> bool:
  return os.sep in text or "/" in text or "." in os.path.basename(text)


def load_dataset(name_or_path: str, data_dir: str | None = None, sep: str | None = None,
                 test_file: str | None = None, mirror: str | None = None) -> LoadedDataset:
  """A registered dataset (downloaded into the cache) or an interactions file.

  Args:
    name_or_path: a `REGISTRY` name, or the path of a user-item file read by
      `readers.read_frame` (separator and header detected).
    data_dir: the download cache (default `$TFRANKCF_DATA` or ~/.cache/tfrankcf);
      files live in `<data_dir>/<name>/`. The embedded ml100k needs none.
    sep: the column separator of a file dataset (default: detected).
    test_file: a fixed test split for a file dataset, same format; its ids are
      indexed with the main file's maps and rows with an unknown user or item
      are dropped (counted in `dropped_test_rows`).
    mirror: a base URL tried before the official ones (default `$TFRANKCF_MIRROR`).
  """
  if name_or_path in REGISTRY:
    if test_file:
      raise InputError(f"--test_file is for file datasets; '{name_or_path}' is a "
                       "registered dataset (pass its ratings file as --dataset instead)")
    return _load_registered(REGISTRY[name_or_path], data_dir, mirror)
  path = name_or_path
  if os.path.isdir(path):
    raise _directory_error(path)
  if not os.path.exists(path):
    if _looks_like_path(path):
      raise InputError("no such file", path=path)
    raise InputError(f"unknown dataset '{path}': neither a file nor one of "
                     f"{', '.join(REGISTRY)}")
  train = readers.read_frame(readers.TextSource(path), sep=sep)
  test = readers.read_frame(readers.TextSource(test_file), sep=sep) if test_file else None
  data, test_data, dropped = _with_test(train, test, path, test_file or "")
  return LoadedDataset(data, test_data, None, {}, None, dropped)
