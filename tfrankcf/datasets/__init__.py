"""Datasets: the registry of named releases, download and cache, file readers.

Public API:
* `load_dataset(name_or_path, data_dir=None, sep=None, test_file=None,
  mirror=None) -> LoadedDataset`: a registered name (`REGISTRY`: ml100k, which
  is embedded and needs no network, ml1m, ml20m, netflix, msd, pinterest,
  yelp, gowalla, movietweetings; the others are downloaded into `data_dir`,
  verified and cached) or the path of a user-item file. `LoadedDataset` has
  `interactions`, an optional fixed `test_interactions` in the same id space,
  and the `strong` protocol defaults (`positive_threshold`, `strong_options`).
* `read_interactions(path, sep=None, name=None, columns=..., header=None)`:
  any csv / tsv / `::` / whitespace file (optionally .gz/.bz2/.xz/.zip) as
  `Interactions`.
* `default_data_dir()`: `$TFRANKCF_DATA` or ~/.cache/tfrankcf.
* `fetch(remote, directory, mirror=None)`: one verified download (see
  `download`).
"""

from tfrankcf.datasets.download import RemoteFile, default_data_dir, fetch
from tfrankcf.datasets.interactions import Interactions
from tfrankcf.datasets.loader import LoadedDataset, load_dataset
from tfrankcf.datasets.readers import FORMATS, read_interactions
from tfrankcf.datasets.registry import REGISTRY, DatasetSpec

__all__ = ["DatasetSpec", "FORMATS", "Interactions", "LoadedDataset", "REGISTRY",
           "RemoteFile", "default_data_dir", "fetch", "load_dataset", "read_interactions"]
