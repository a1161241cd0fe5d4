"""results.json / per_user.npz writers: atomic, JSON-safe, files readable as the umask says."""

import json
import os
import stat

import numpy as np

from tfrankcf.training.results import write_json, write_per_user


def test_json_replaces_nan_and_numpy_values(tmp_path):
  path = tmp_path / "sub" / "results.json"
  write_json(str(path), {"a": np.float32(0.5), "b": float("nan"), "c": np.arange(2),
                         "d": {1: np.int64(3)}})
  assert json.loads(path.read_text()) == {"a": 0.5, "b": None, "c": [0, 1], "d": {"1": 3}}


def test_no_temporary_file_is_left_behind(tmp_path):
  write_json(str(tmp_path / "results.json"), {"x": 1})
  write_json(str(tmp_path / "results.json"), {"x": 2})
  write_per_user(str(tmp_path / "per_user.npz"), {"test.ndcg": np.ones(3)})
  assert sorted(os.listdir(tmp_path)) == ["per_user.npz", "results.json"]
  assert json.loads((tmp_path / "results.json").read_text()) == {"x": 2}
  np.testing.assert_array_equal(np.load(tmp_path / "per_user.npz")["test.ndcg"], np.ones(3))


def test_files_get_the_umask_mode_not_tempfiles_0600(tmp_path):
  old = os.umask(0o022)
  try:
    write_json(str(tmp_path / "results.json"), {})
    write_per_user(str(tmp_path / "per_user.npz"), {"a": np.zeros(1)})
  finally:
    os.umask(old)
  for name in ("results.json", "per_user.npz"):
    assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644
