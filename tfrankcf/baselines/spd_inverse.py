"""In-place inverse of a symmetric positive definite matrix: Cholesky, then the inverse from it.

`invert_lower(a)` overwrites the lower triangle of the Fortran-ordered square
`a` with that of a^-1, in the matrix's own storage: the sequence of LAPACK's
?potrf (a = L L^T) and ?potri (= ?trtri, L^-1, then ?lauum, L^-T L^-1).

Up to `WHOLE_MAX` rows it makes exactly those three LAPACK calls on the whole
matrix. Above, it runs the same blocked algorithms itself on tiles of `TILE`
rows (LAPACK's own ?potrf / ?trtri / ?lauum on the diagonal tiles, ?trsm,
?trmm, ?gemm and tile-sized ?syrk for the rest), because the OpenBLAS builds
that numpy 1.26 and scipy 1.17 ship crash with SIGSEGV in their threaded ?syrk
on large outputs: in ?potrf from ~26.7K rows on 2 threads, in a plain ?syrk
from ~32K (numpy issue 19685 is the same crash). The flop count is the same
(n^3 in all) and every call is a level-3 BLAS call of at least TILE x TILE.

The BLAS and LAPACK functions are scipy's (`scipy.linalg.cython_blas` /
`cython_lapack`, called through their C function pointers) so that each call
can address a sub-block of the one matrix with its leading dimension: the f2py
wrappers of `scipy.linalg.blas` would copy every non-contiguous block.
"""

import ctypes
import functools

import numpy as np
from scipy.linalg import cython_blas, cython_lapack

WHOLE_MAX = 16_384  # rows up to which the whole matrix goes to ?potrf / ?trtri / ?lauum
TILE = 2_048  # rows of a tile above WHOLE_MAX

_INT = ctypes.POINTER(ctypes.c_int)
_CHAR = ctypes.c_char_p
_PTR = ctypes.c_void_p
_SIGNATURES = {  # every argument by reference, Fortran-style
    "potrf": (_CHAR, _INT, _PTR, _INT, _INT),
    "trtri": (_CHAR, _CHAR, _INT, _PTR, _INT, _INT),
    "lauum": (_CHAR, _INT, _PTR, _INT, _INT),
    "trsm": (_CHAR, _CHAR, _CHAR, _CHAR, _INT, _INT, _PTR, _PTR, _INT, _PTR, _INT),
    "trmm": (_CHAR, _CHAR, _CHAR, _CHAR, _INT, _INT, _PTR, _PTR, _INT, _PTR, _INT),
    "gemm": (_CHAR, _CHAR, _INT, _INT, _INT, _PTR, _PTR, _INT, _PTR, _INT, _PTR, _PTR, _INT),
    "syrk": (_CHAR, _CHAR, _INT, _INT, _PTR, _PTR, _INT, _PTR, _PTR, _INT),
}
_LAPACK = ("potrf", "trtri", "lauum")


@functools.lru_cache(maxsize=None)
def _function(prefix: str, name: str):
  """scipy's ?name (prefix 's' or 'd') as a ctypes function (the GIL released during calls)."""
  capsule = (cython_lapack if name in _LAPACK else cython_blas).__pyx_capi__[prefix + name]
  get_name = ctypes.pythonapi.PyCapsule_GetName
  get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
  get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
  get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
  address = get_pointer(capsule, get_name(capsule))
  return ctypes.CFUNCTYPE(None, *_SIGNATURES[name])(address)


class _Blocks:
  """Calls on sub-blocks of one Fortran-ordered square matrix: block(i, j) is &a[i, j]."""

  def __init__(self, a: np.ndarray):
    self.n = a.shape[0]
    self.base = a.ctypes.data
    self.itemsize = a.itemsize
    self.prefix = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}[a.dtype]
    self.scalar = ctypes.c_float if self.prefix == "s" else ctypes.c_double

  def block(self, row: int, column: int) -> ctypes.c_void_p:
    return ctypes.c_void_p(self.base + (row + column * self.n) * self.itemsize)

  def call(self, name: str, *args) -> int:
    """?name on b"chars", ints, float scalars and blocks in BLAS order; LAPACK's info or 0."""
    keep, converted = [], []
    for arg in args:
      if isinstance(arg, (bytes, ctypes.c_void_p)):
        converted.append(arg)
      else:
        value = ctypes.c_int(arg) if isinstance(arg, int) else self.scalar(arg)
        keep.append(value)
        converted.append(ctypes.cast(ctypes.pointer(value), ctypes.c_void_p) if isinstance(
            arg, float) else ctypes.byref(value))
    info = ctypes.c_int(0)
    if name in _LAPACK:
      converted.append(ctypes.byref(info))
    _function(self.prefix, name)(*converted)
    return info.value


def invert_lower(a: np.ndarray, tile: int | None = None) -> int:
  """Overwrites the lower triangle of the SPD Fortran-ordered `a` with a^-1's; returns info.

  info 0: done; k > 0: the leading minor of order k is not positive definite
  (?potrf's info), `a` then holds a partial factor. The strict upper triangle
  of `a` is scratch space (overwritten on the tiled path), as it is unread.
  """
  if a.ndim != 2 or a.shape[0] != a.shape[1] or not a.flags.f_contiguous:
    raise ValueError("invert_lower needs a square Fortran-contiguous matrix")
  n = a.shape[0]
  if tile is None:
    tile = n if n <= WHOLE_MAX else TILE
  blocks = _Blocks(a)
  info = _cholesky(blocks, n, max(1, tile))
  if info:
    return info
  info = _triangular_inverse(blocks, n, max(1, tile))
  if info:
    return info
  _lower_product(blocks, n, max(1, tile))
  return 0


def _cholesky(m: _Blocks, n: int, tile: int) -> int:
  """Right-looking blocked Cholesky a = L L^T (lower), the trailing update in ?gemm columns."""
  for k in range(0, n, tile):
    kb = min(tile, n - k)
    info = m.call("potrf", b"L", kb, m.block(k, k), n)
    if info:
      return info + k
    rest = n - k - kb
    if rest:
      # L21 = A21 L11^-T
      m.call("trsm", b"R", b"L", b"T", b"N", rest, kb, 1.0, m.block(k, k), n,
             m.block(k + kb, k), n)
      # A22 -= L21 L21^T, one tile column at a time (its lower part and diagonal tile)
      for j in range(k + kb, n, tile):
        jb = min(tile, n - j)
        m.call("gemm", b"N", b"T", n - j, jb, kb, -1.0, m.block(j, k), n, m.block(j, k), n,
               1.0, m.block(j, j), n)
  return 0


def _triangular_inverse(m: _Blocks, n: int, tile: int) -> int:
  """L := L^-1 in place (LAPACK ?trtri's blocked lower algorithm, last tile first)."""
  for j in range(((n - 1) // tile) * tile, -1, -tile):
    jb = min(tile, n - j)
    if j + jb < n:
      rest = n - j - jb
      m.call("trmm", b"L", b"L", b"N", b"N", rest, jb, 1.0, m.block(j + jb, j + jb), n,
             m.block(j + jb, j), n)
      m.call("trsm", b"R", b"L", b"N", b"N", rest, jb, -1.0, m.block(j, j), n,
             m.block(j + jb, j), n)
    info = m.call("trtri", b"L", b"N", jb, m.block(j, j), n)
    if info:
      return info + j
  return 0


def _lower_product(m: _Blocks, n: int, tile: int) -> None:
  """L := L^T L in place, lower triangle (LAPACK ?lauum's blocked lower algorithm)."""
  for i in range(0, n, tile):
    ib = min(tile, n - i)
    if i:
      m.call("trmm", b"L", b"L", b"T", b"N", ib, i, 1.0, m.block(i, i), n, m.block(i, 0), n)
    m.call("lauum", b"L", ib, m.block(i, i), n)
    rest = n - i - ib
    if rest:
      if i:
        m.call("gemm", b"T", b"N", ib, i, rest, 1.0, m.block(i + ib, i), n, m.block(i + ib, 0),
               n, 1.0, m.block(i, 0), n)
      m.call("syrk", b"L", b"T", ib, rest, 1.0, m.block(i + ib, i), n, 1.0, m.block(i, i), n)
