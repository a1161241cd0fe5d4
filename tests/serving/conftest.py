"""A tiny hand-made split (5 training users x 6 items, distinct popularities) and its exports."""

import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from tfrankcf.protocols.split import EvalSet, Split

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "serving"
ITEM_IDS = ["1", "2", "3", "4", "5", "6"]
# Items of each training user (columns); popularity by column: 1, 3, 1, 4, 0, 2.
TRAIN = [[1, 3], [1, 3, 5], [0, 3, 5], [1, 2], [3]]
POPULAR = ["4", "2", "6", "1", "3", "5"]  # most popular first, ties by column
POPULARITY = [4.0, 3.0, 2.0, 1.0, 1.0, 0.0]


def _csr(rows, num_items=len(ITEM_IDS)):
  indptr = np.cumsum([0] + [len(r) for r in rows])
  indices = np.array([i for r in rows for i in r], np.int32)
  return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                       shape=(len(rows), num_items))


@pytest.fixture(scope="session")
def tiny():
  """The split and what its exports must return: `split`, `popular`, `popularity`, `testdata`."""
  held_out = EvalSet(user_index=np.array([-1]), inputs=_csr([[1]]), targets=_csr([[3]]),
                     exclude=_csr([[1]]))
  split = Split(train=_csr(TRAIN), valid=held_out, test=held_out, protocol="strong",
                item_ids=np.array(ITEM_IDS))
  return types.SimpleNamespace(split=split, item_ids=ITEM_IDS, popular=POPULAR,
                               popularity=POPULARITY, testdata=TESTDATA)
