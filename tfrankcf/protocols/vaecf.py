"""Loads a split already in the Mult-VAE reference code's format, unchanged.

A directory with `train.csv`, `validation_tr.csv`, `validation_te.csv`,
`test_tr.csv`, `test_te.csv` (columns `uid,sid`) and `unique_sid.txt` (one
original item id per line, line number = sid), as written by the vae_cf
notebook and RaCT's `setup_data.py`. Results on it are comparable with every
paper that used that code.
"""

import os

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrankcf.datasets.vaecf_layout import FILES, is_vaecf_dir  # is_vaecf_dir: re-exported
from tfrankcf.errors import InputError
from tfrankcf.protocols.split import EvalSet, Split


def _read_pairs(path: str, num_items: int) -> pd.DataFrame:
  try:
    frame = pd.read_csv(path, dtype={"uid": np.int64, "sid": np.int64})
  except (ValueError, pd.errors.ParserError) as error:
    raise InputError(f"not a uid,sid csv ({error})", path=path) from None
  if list(frame.columns[:2]) != ["uid", "sid"]:
    raise InputError("expected the header 'uid,sid'", path=path, line=1)
  bad = np.flatnonzero((frame.sid < 0) | (frame.sid >= num_items))
  if len(bad):
    raise InputError(f"sid {frame.sid.iloc[bad[0]]} outside 0..{num_items - 1} "
                     "(unique_sid.txt)", path=path, line=int(bad[0]) + 2)
  return frame


def _rows(frame: pd.DataFrame, user_ids: np.ndarray, num_items: int) -> sp.csr_matrix:
  rows = np.searchsorted(user_ids, frame.uid.to_numpy())
  matrix = sp.csr_matrix((np.ones(len(frame), np.float32), (rows, frame.sid.to_numpy())),
                         shape=(len(user_ids), num_items))
  matrix.sum_duplicates()
  matrix.data[:] = 1.0
  matrix.sort_indices()
  return matrix


def load_vaecf_split(path: str) -> Split:
  """Reads the directory into a `strong` `Split`; user rows in increasing uid order."""
  missing = [name for name in FILES if not os.path.exists(os.path.join(path, name))]
  if missing:
    raise InputError(f"not a Mult-VAE split directory: missing {', '.join(missing)}",
                     path=path)
  with open(os.path.join(path, "unique_sid.txt")) as f:
    item_ids = np.array([line.strip() for line in f if line.strip()])
  num_items = len(item_ids)
  frames = {name: _read_pairs(os.path.join(path, name), num_items)
            for name in FILES[:-1]}
  train_frame = frames["train.csv"]
  train = _rows(train_frame, np.unique(train_frame.uid.to_numpy()), num_items)

  def eval_set(part: str) -> EvalSet:
    fold_in, held_out = frames[f"{part}_tr.csv"], frames[f"{part}_te.csv"]
    user_ids = np.unique(np.concatenate([fold_in.uid.to_numpy(),
                                         held_out.uid.to_numpy()]))
    inputs = _rows(fold_in, user_ids, num_items)
    return EvalSet(user_index=np.full(len(user_ids), -1, np.int64), inputs=inputs,
                   targets=_rows(held_out, user_ids, num_items), exclude=inputs)

  valid, test = eval_set("validation"), eval_set("test")
  return Split(train=train, valid=valid, test=test, protocol="strong",
               item_ids=item_ids,
               info={"protocol": "strong", "source": "vaecf_dir",
                     "path": os.path.abspath(path),
                     "train_users": int(train.shape[0]), "items": num_items,
                     "train_interactions": int(train.nnz),
                     "valid_users": valid.num_users, "test_users": test.num_users})
