"""The file layout of a Mult-VAE split directory (the vae_cf notebook's, RaCT's `setup_data.py`).

A directory with `train.csv`, `validation_tr.csv`, `validation_te.csv`,
`test_tr.csv`, `test_te.csv` (columns `uid,sid`) and `unique_sid.txt` (one
original item id per line). The loader of datasets recognises it (to say that
such a directory is a ready-made split, not an interactions file) and
`tfrankcf.protocols.vaecf` reads it, so the layout lives below both.
"""

import os

FILES = ("train.csv", "validation_tr.csv", "validation_te.csv",
         "test_tr.csv", "test_te.csv", "unique_sid.txt")


def is_vaecf_dir(path) -> bool:
  """True when `path` is a directory holding the Mult-VAE split files."""
  return os.path.isdir(path) and all(
      os.path.exists(os.path.join(path, name)) for name in FILES)
