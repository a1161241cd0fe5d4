"""Tests of the Mult-VAE split directory loader (fixture and, when present, the real ML-1M split)."""

import os

import numpy as np
import pytest

from tfrankcf.errors import InputError
from tfrankcf.protocols.vaecf import is_vaecf_dir, load_vaecf_split

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "ml-1m-vaecf")


def _write(directory, name, rows):
  with open(os.path.join(directory, name), "w") as f:
    f.write("uid,sid\n" + "".join(f"{u},{s}\n" for u, s in rows))


def _fixture(directory):
  with open(os.path.join(directory, "unique_sid.txt"), "w") as f:
    f.write("10\n20\n30\n40\n")
  _write(directory, "train.csv", [(0, 0), (0, 1), (1, 2), (1, 3)])
  _write(directory, "validation_tr.csv", [(5, 0), (5, 1)])
  _write(directory, "validation_te.csv", [(5, 3)])
  _write(directory, "test_tr.csv", [(7, 2), (8, 1)])
  _write(directory, "test_te.csv", [(7, 0), (8, 3)])


def test_loads_fixture(tmp_path):
  _fixture(tmp_path)
  assert is_vaecf_dir(tmp_path)
  split = load_vaecf_split(str(tmp_path))
  assert split.train.shape == (2, 4) and split.train.nnz == 4
  assert split.valid.inputs.toarray().tolist() == [[1, 1, 0, 0]]
  assert split.valid.targets.toarray().tolist() == [[0, 0, 0, 1]]
  assert split.test.targets.toarray().tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
  assert list(split.item_ids) == ["10", "20", "30", "40"]


def test_bad_sid_names_file_and_line(tmp_path):
  _fixture(tmp_path)
  _write(tmp_path, "test_te.csv", [(7, 0), (8, 9)])
  with pytest.raises(InputError, match=r"test_te.csv:3: sid 9"):
    load_vaecf_split(str(tmp_path))


@pytest.mark.skipif(not os.path.isdir(REAL), reason="shared/data/ml-1m-vaecf not present")
def test_real_ml1m_split_counts():
  split = load_vaecf_split(REAL)
  assert split.train.shape == (4834, 3497) and split.train.nnz == 462827
  assert split.valid.num_users == split.test.num_users == 600
  assert split.valid.inputs.nnz == 46146 and split.valid.targets.nnz == 11228
  assert split.test.inputs.nnz == 44266 and split.test.targets.nnz == 10761
