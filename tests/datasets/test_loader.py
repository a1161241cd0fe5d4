"""load_dataset: the embedded ml100k, registered downloads, file datasets, errors."""

import dataclasses
import gzip
import hashlib
import os
import zipfile

import numpy as np
import pytest

from tfrankcf.datasets import REGISTRY, download, load_dataset, loader
from tfrankcf.datasets.readers import FORMATS
from tfrankcf.errors import InputError

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "datasets")


def _fixture(name):
  return os.path.join(TESTDATA, name)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
  monkeypatch.delenv(download.MIRROR_ENV, raising=False)


def test_embedded_ml100k_needs_no_network_or_data_dir(monkeypatch, tmp_path):
  monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "unused"))
  loaded = load_dataset("ml100k")
  data = loaded.interactions
  assert (len(data), data.num_users, data.num_items) == (100_000, 943, 1682)
  assert data.name == "ml100k"
  assert set(np.unique(data.ratings)) == {1, 2, 3, 4, 5}
  assert loaded.positive_threshold == 4.0 and loaded.test_interactions is None
  assert not os.path.exists(tmp_path / "unused")


def _ml1m_zip(path):
  with zipfile.ZipFile(path, "w") as archive:
    archive.writestr("ml-1m/README", "readme")
    archive.writestr("ml-1m/movies.dat", "1::Toy Story (1995)::Animation\n")
    archive.writestr("ml-1m/ratings.dat", open(_fixture("ml-1m_ratings.dat")).read())


def _unpinned(monkeypatch, name, **changes):
  """The registry entry `name` with its files' checksums replaced by `changes`."""
  spec = REGISTRY[name]
  changes = {"md5": None, "sha256": None, "git_sha1": None, **changes}

  def replace(parts):
    return tuple(dataclasses.replace(part, remote=dataclasses.replace(part.remote, **changes))
                 for part in parts)

  spec = dataclasses.replace(spec, train=replace(spec.train), test=replace(spec.test))
  monkeypatch.setitem(loader.REGISTRY, name, spec)
  return spec


def test_registered_zip_member_from_a_mirror(tmp_path, monkeypatch):
  mirror = tmp_path / "mirror"
  (mirror / "ml1m").mkdir(parents=True)
  _ml1m_zip(mirror / "ml1m" / "ml-1m.zip")
  digest = hashlib.sha256((mirror / "ml1m" / "ml-1m.zip").read_bytes()).hexdigest()
  _unpinned(monkeypatch, "ml1m", sha256=digest, urls=("http://127.0.0.1:9/ml-1m.zip",))
  loaded = load_dataset("ml1m", data_dir=str(tmp_path / "cache"), mirror=mirror.as_uri())
  assert len(loaded.interactions) == 9 and loaded.interactions.num_users == 3
  assert os.path.exists(tmp_path / "cache" / "ml1m" / "ml-1m.zip")
  assert loaded.positive_threshold == 4.0


def test_registered_placed_archive_with_wrong_checksum(tmp_path):
  (tmp_path / "ml1m").mkdir()
  _ml1m_zip(tmp_path / "ml1m" / "ml-1m.zip")
  with pytest.raises(InputError, match=r"ml-1m.zip: checksum mismatch: expected md5 "
                     "c4d9eecfca2ab87c1945afe126590906, got "):
    load_dataset("ml1m", data_dir=str(tmp_path))


def test_registered_download_failure_names_the_file_to_place(tmp_path):
  with pytest.raises(InputError) as error:
    load_dataset("netflix", data_dir=str(tmp_path))
  message = str(error.value)
  assert "kaggle datasets download -d netflix-inc/netflix-prize-data" in message
  assert f"place it at {tmp_path / 'netflix' / 'netflix-prize-data.zip'}" in message


def test_registered_release_with_fixed_test_split(tmp_path, monkeypatch):
  (tmp_path / "yelp").mkdir()
  for name in ("yelp.train.rating", "yelp.test.rating"):
    (tmp_path / "yelp" / name).write_bytes(open(_fixture(name), "rb").read())
  _unpinned(monkeypatch, "yelp")
  loaded = load_dataset("yelp", data_dir=str(tmp_path))
  train, test = loaded.interactions, loaded.test_interactions
  np.testing.assert_array_equal(train.user_ids, [0, 1, 2, 3])
  assert test.user_ids is train.user_ids and test.item_ids is train.item_ids
  # Item 99 never occurs in training: that test row is dropped and counted.
  assert loaded.dropped_test_rows == 1
  np.testing.assert_array_equal(train.item_ids[test.items], [2, 3, 1])
  np.testing.assert_array_equal(test.users, [0, 1, 2])


def test_netflix_members_concatenated(tmp_path, monkeypatch):
  (tmp_path / "netflix").mkdir()
  text = open(_fixture("netflix_combined_data_1.txt")).read()
  with zipfile.ZipFile(tmp_path / "netflix" / "netflix-prize-data.zip", "w") as archive:
    for index in range(1, 5):
      archive.writestr(f"combined_data_{index}.txt",
                       text.replace("1:", f"{index}0:").replace("2:", f"{index}1:")
                       .replace("3:", f"{index}2:"))
  _unpinned(monkeypatch, "netflix")
  data = load_dataset("netflix", data_dir=str(tmp_path)).interactions
  assert len(data) == 24 and data.num_items == 12 and data.num_users == 4


def test_file_dataset_with_test_file(tmp_path):
  loaded = load_dataset(_fixture("yelp.train.rating"),
                        test_file=_fixture("yelp.test.rating"))
  assert loaded.spec is None and loaded.positive_threshold is None
  assert loaded.interactions.name == _fixture("yelp.train.rating")
  assert len(loaded.test_interactions) == 3 and loaded.dropped_test_rows == 1


def test_test_file_sharing_no_pair_is_an_error(tmp_path):
  (tmp_path / "test.csv").write_text("50,60\n51,61\n")
  with pytest.raises(InputError, match="test.csv: no test row has both"):
    load_dataset(_fixture("ml-20m_ratings.csv"), test_file=str(tmp_path / "test.csv"))


def test_file_dataset_with_separator(tmp_path):
  (tmp_path / "pairs.txt").write_text("1|10\n2|10\n2|11\n")
  data = load_dataset(str(tmp_path / "pairs.txt"), sep="|").interactions
  assert (len(data), data.num_users, data.num_items) == (3, 2, 2)
  assert data.ratings is None and data.timestamps is None


def test_unknown_name_lists_the_registry():
  with pytest.raises(InputError) as error:
    load_dataset("ml2m")
  assert "unknown dataset 'ml2m'" in str(error.value)
  for name in REGISTRY:
    assert name in str(error.value)


def test_missing_file_and_directory(tmp_path):
  with pytest.raises(InputError, match=r"^/nonexistent/file.csv: no such file$"):
    load_dataset("/nonexistent/file.csv")
  with pytest.raises(InputError, match="is a directory.*missing train.csv"):
    load_dataset(str(tmp_path))


def test_test_file_is_only_for_files():
  with pytest.raises(InputError, match="--test_file is for file datasets"):
    load_dataset("ml100k", test_file=_fixture("yelp.test.rating"))


def test_registry_entries_are_complete():
  assert set(REGISTRY) == {"ml100k", "ml1m", "ml20m", "netflix", "msd", "pinterest",
                           "yelp", "gowalla", "movietweetings"}
  for spec in REGISTRY.values():
    assert spec.homepage.startswith("http") and spec.format in FORMATS
    assert spec.citation and spec.licence and spec.checksum_note
    for remote in spec.remotes:
      assert remote.urls or remote.manual, (spec.name, remote.filename)
      assert all(url.startswith(("https://", "http://")) for url in remote.urls)
      if not remote.pinned:
        assert "trust on first use" in spec.checksum_note, spec.name
  assert REGISTRY["msd"].strong_options == {"min_user_items": 20, "min_item_users": 200}
  assert REGISTRY["msd"].positive_threshold is None
  assert REGISTRY["ml20m"].positive_threshold == REGISTRY["netflix"].positive_threshold == 4


def test_embedded_copy_is_the_unmodified_u_data():
  path = os.path.join(os.path.dirname(loader.__file__), REGISTRY["ml100k"].embedded)
  with gzip.open(path, "rb") as f:
    assert hashlib.md5(f.read()).hexdigest() == "6e47046882bad158b0efbb84cd5cb987"
  assert os.path.exists(os.path.join(os.path.dirname(path), "NOTICE.md"))
