"""Tests of the in-place SPD inverse behind EASE: whole-matrix LAPACK calls and the tiled path."""

import tracemalloc

import numpy as np
import pytest

from tfrankcf.baselines import spd_inverse


def _spd(n, dtype, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.random((n, n))
  return np.asfortranarray((x @ x.T / n + 0.5 * np.eye(n)).astype(dtype))


@pytest.mark.parametrize("n,tile", [(1, None), (1, 1), (7, 3), (64, 64), (300, 64), (300, None),
                                    (257, 32)])
@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_lower_triangle_is_the_inverse_whole_and_tiled(n, tile, dtype, rtol):
  matrix = _spd(n, dtype, seed=n)
  expected = np.linalg.inv(matrix.astype(np.float64))
  assert spd_inverse.invert_lower(matrix, tile) == 0
  scale = np.abs(expected).max()
  np.testing.assert_allclose(np.tril(matrix), np.tril(expected), rtol=0, atol=rtol * scale)


def test_above_whole_max_it_factors_tile_by_tile(monkeypatch):
  monkeypatch.setattr(spd_inverse, "WHOLE_MAX", 100)
  monkeypatch.setattr(spd_inverse, "TILE", 32)
  calls = []
  original = spd_inverse._Blocks.call
  monkeypatch.setattr(spd_inverse._Blocks, "call",
                      lambda self, name, *args: calls.append(name) or original(self, name, *args))
  matrix = _spd(150, np.float32)
  expected = np.linalg.inv(matrix.astype(np.float64))
  assert spd_inverse.invert_lower(matrix) == 0
  # 5 diagonal tiles (32 * 4 + 22): one ?potrf, ?trtri and ?lauum each; no call on the whole.
  assert [calls.count(name) for name in ("potrf", "trtri", "lauum")] == [5, 5, 5]
  assert calls.count("syrk") == 4 and calls.count("gemm") == 10 + 3
  np.testing.assert_allclose(np.tril(matrix), np.tril(expected), rtol=0,
                             atol=2e-5 * np.abs(expected).max())
  calls.clear()
  spd_inverse.invert_lower(_spd(100, np.float32))
  assert calls == ["potrf", "trtri", "lauum"]  # = LAPACK's ?potrf + ?potri on the whole


@pytest.mark.parametrize("tile", [None, 2])
def test_not_positive_definite_returns_the_failing_column(tile):
  matrix = np.asfortranarray(np.eye(6))
  matrix[3, 3] = -1.0
  assert spd_inverse.invert_lower(matrix, tile) == 4


def test_works_in_place_and_only_on_fortran_order():
  matrix = _spd(1000, np.float32)
  address = matrix.ctypes.data
  tracemalloc.start()
  try:
    spd_inverse.invert_lower(matrix, 128)
    peak = tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()
  assert peak < 0.05 * matrix.nbytes and matrix.ctypes.data == address
  with pytest.raises(ValueError, match="Fortran-contiguous"):
    spd_inverse.invert_lower(np.ascontiguousarray(_spd(4, np.float32)) + 0 * np.ones((4, 1)))
  with pytest.raises(ValueError, match="square"):
    spd_inverse.invert_lower(np.asfortranarray(np.ones((3, 4))))
