"""On-disk cache of splits, so every method in a comparison sees the identical split.

A split is stored as one `.npz` (the sparse matrices and candidate arrays) plus
its `info`, under a key that hashes the protocol, its options, the seed, a
fingerprint of the interactions' contents (events and raw ids, not the file's
path or layout) and `SPLIT_VERSION`. Two files with the same contents (say,
one with a header row) share a split; `make_split` then names the file of the
run that loads it, not the one that first wrote it. Writes are atomic (temp
file + rename), so concurrent runs of a comparison never read half a split.
"""

import hashlib
import json
import os
import tempfile

import numpy as np
import scipy.sparse as sp

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.protocols.split import EvalSet, Split

_EVAL_FIELDS = ("inputs", "targets", "exclude")

# Bumped whenever a protocol's rule changes, so no split made by the old rule is reused.
# 2: `given` without timestamps validates on a seeded random item, not the last line.
SPLIT_VERSION = 2


def fingerprint(data: Interactions) -> str:
  """A digest of the interaction arrays and raw ids (not of the file path)."""
  digest = hashlib.sha1()
  for name in ("users", "items", "ratings", "timestamps"):
    array = getattr(data, name)  # a missing column differs from any present one
    digest.update(name.encode() + (b"-" if array is None else
                                   np.ascontiguousarray(array).tobytes()))
  for ids in (data.user_ids, data.item_ids):  # the split stores item_ids: same ids only
    digest.update("\n".join(map(str, ids)).encode() + b"\0")
  digest.update(str((data.num_users, data.num_items)).encode())
  return digest.hexdigest()[:16]


def split_key(protocol: str, seed: int, options: dict, *datasets) -> str:
  payload = json.dumps({"version": SPLIT_VERSION, "protocol": protocol, "seed": seed,
                        "options": options,
                        "data": [fingerprint(d) for d in datasets if d is not None]},
                       sort_keys=True, default=str)
  return f"{protocol}-{hashlib.sha1(payload.encode()).hexdigest()[:16]}"


def _put_csr(arrays: dict, prefix: str, matrix: sp.csr_matrix):
  arrays[prefix + ".indptr"] = matrix.indptr
  arrays[prefix + ".indices"] = matrix.indices
  arrays[prefix + ".shape"] = np.asarray(matrix.shape)


def _get_csr(arrays, prefix: str) -> sp.csr_matrix:
  indices = arrays[prefix + ".indices"]
  return sp.csr_matrix((np.ones(len(indices), np.float32), indices,
                        arrays[prefix + ".indptr"]),
                       shape=tuple(arrays[prefix + ".shape"]))


def save_split(split: Split, path: str) -> None:
  arrays = {"item_ids": np.asarray(split.item_ids).astype(str)}
  _put_csr(arrays, "train", split.train)
  for part in ("valid", "test"):
    eval_set = getattr(split, part)
    arrays[f"{part}.user_index"] = eval_set.user_index
    for field in _EVAL_FIELDS:
      _put_csr(arrays, f"{part}.{field}", getattr(eval_set, field))
    if eval_set.candidates is not None:
      arrays[f"{part}.candidates"] = eval_set.candidates
  arrays["meta"] = np.asarray(json.dumps({"protocol": split.protocol,
                                          "info": split.info}, default=str))
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  with tempfile.NamedTemporaryFile(dir=directory, suffix=".npz", delete=False) as f:
    np.savez_compressed(f, **arrays)
  os.replace(f.name, path)


def load_split(path: str) -> Split:
  with np.load(path, allow_pickle=False) as arrays:
    meta = json.loads(str(arrays["meta"]))
    parts = {}
    for part in ("valid", "test"):
      parts[part] = EvalSet(
          user_index=arrays[f"{part}.user_index"],
          candidates=(arrays[f"{part}.candidates"]
                      if f"{part}.candidates" in arrays else None),
          **{field: _get_csr(arrays, f"{part}.{field}") for field in _EVAL_FIELDS})
    return Split(train=_get_csr(arrays, "train"), protocol=meta["protocol"],
                 item_ids=arrays["item_ids"], info=meta["info"], **parts)
