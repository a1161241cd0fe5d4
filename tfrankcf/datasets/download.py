"""Downloads into the cache directory, verified by checksum, fetched once.

A `RemoteFile` is one file of a release: where to get it (official URLs, or a
manual-download instruction when there is no public URL) and the digests it
must have. `fetch(remote, directory)` returns its path under `directory`:

* a file already there is verified (once: a `<file>.verified.json` stamp
  records its digests, size and mtime, so later uses skip re-hashing) and never
  downloaded again;
* otherwise it is downloaded (http, https or file URLs; a mirror first when
  `TFRANKCF_MIRROR` or `mirror=` names one, laid out as `<mirror>/<dataset>/<file>`)
  into a temporary file, verified, then renamed into place: a file that fails
  its checksum never appears under the final name;
* when no URL works, `InputError` says which URLs failed and exactly which
  file to place at which path.

A release without a published checksum (`RemoteFile.pinned` empty) is trusted
on first use: the digests of the first copy are recorded in the stamp and
every later use is checked against them.
"""

import dataclasses
import hashlib
import http.client
import json
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request

from tfrankcf.errors import InputError

DATA_ENV = "TFRANKCF_DATA"
MIRROR_ENV = "TFRANKCF_MIRROR"
STAMP_SUFFIX = ".verified.json"
DIGESTS = ("md5", "sha256", "git_sha1")
_BLOCK = 1 << 20
_PROGRESS_BYTES = 16 << 20  # files larger than this log their progress
_PROGRESS_SECONDS = 10.0


def default_data_dir() -> str:
  """`$TFRANKCF_DATA`, else `~/.cache/tfrankcf`."""
  return os.environ.get(DATA_ENV) or os.path.join(
      os.path.expanduser("~"), ".cache", "tfrankcf")


@dataclasses.dataclass(frozen=True)
class RemoteFile:
  """One file of a release and the digests it must have.

  Attributes:
    filename: its name in the cache, `<data_dir>/<dataset>/<filename>`.
    urls: official download URLs, tried in order.
    md5, sha256: hex digests of the file.
    git_sha1: its git blob id (`git hash-object`), for files published in a
      git repository, where the tree pins the content.
    manual: how to obtain the file by hand (for releases behind a login).
  """

  filename: str
  urls: tuple[str, ...] = ()
  md5: str | None = None
  sha256: str | None = None
  git_sha1: str | None = None
  manual: str | None = None

  @property
  def pinned(self) -> dict[str, str]:
    """The published digests, by kind; empty means trust on first use."""
    return {kind: getattr(self, kind) for kind in DIGESTS if getattr(self, kind)}


def file_digests(path: str) -> dict:
  """md5, sha256, git blob sha1 and size of a file, in one pass."""
  size = os.path.getsize(path)
  hashes = {"md5": hashlib.md5(), "sha256": hashlib.sha256(), "git_sha1": hashlib.sha1()}
  hashes["git_sha1"].update(f"blob {size}\0".encode())
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(_BLOCK), b""):
      for digest in hashes.values():
        digest.update(block)
  result = {kind: digest.hexdigest() for kind, digest in hashes.items()}
  result["size"] = size
  return result


def _mismatch(expected: dict[str, str], actual: dict) -> str | None:
  for kind, digest in expected.items():
    if actual[kind] != digest.lower():
      return f"expected {kind} {digest}, got {actual[kind]}"
  return None


def _stamp_path(path: str) -> str:
  return path + STAMP_SUFFIX


def _read_stamp(path: str) -> dict | None:
  try:
    with open(_stamp_path(path)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _write_stamp(path: str, digests: dict, source: str) -> None:
  stat = os.stat(path)
  stamp = dict(digests, mtime_ns=stat.st_mtime_ns, source=source)
  fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
  with os.fdopen(fd, "w") as f:
    json.dump(stamp, f, indent=1, sort_keys=True)
  os.replace(temp, _stamp_path(path))


def _verify_present(remote: RemoteFile, path: str) -> None:
  """Checks a file already in the cache; raises InputError when it is wrong."""
  stamp = _read_stamp(path)
  stat = os.stat(path)
  pinned = remote.pinned
  if (stamp and stamp.get("size") == stat.st_size
      and stamp.get("mtime_ns") == stat.st_mtime_ns
      and all(stamp.get(kind) == digest.lower() for kind, digest in pinned.items())):
    return
  digests = file_digests(path)
  if pinned:
    problem = _mismatch(pinned, digests)
    if problem:
      raise InputError(f"checksum mismatch: {problem}; delete the file so that it "
                       "is downloaded again, or place the right one there", path=path)
  elif stamp and stamp.get("sha256"):
    if stamp["sha256"] != digests["sha256"]:
      raise InputError(
          f"changed since its first use: recorded sha256 {stamp['sha256']}, now "
          f"{digests['sha256']}; delete it and {os.path.basename(_stamp_path(path))} "
          "to accept the new file", path=path)
  else:
    logging.warning("%s has no published checksum; recording sha256 %s on first use "
                    "(later uses are checked against it)", path, digests["sha256"])
  _write_stamp(path, digests, source=(stamp or {}).get("source", "placed by hand"))


def _download(url: str, directory: str, filename: str) -> str:
  """Downloads `url` into a temporary file in `directory`; returns its path."""
  fd, temp = tempfile.mkstemp(dir=directory, prefix=filename + ".", suffix=".part")
  try:
    with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
      total = int(response.headers.get("Content-Length") or 0)
      done, last_log = 0, time.monotonic()
      for block in iter(lambda: response.read(_BLOCK), b""):
        out.write(block)
        done += len(block)
        if (max(total, done) > _PROGRESS_BYTES
            and time.monotonic() - last_log > _PROGRESS_SECONDS):
          last_log = time.monotonic()
          share = f" of {total / 1e6:.0f} MB ({100 * done / total:.0f}%)" if total else ""
          logging.info("downloading %s: %.0f MB%s", filename, done / 1e6, share)
      if total and done != total:
        raise OSError(f"connection closed after {done} of {total} bytes")
  except BaseException:
    os.remove(temp)
    raise
  return temp


def _failure_reason(error: Exception) -> str:
  reason = getattr(error, "reason", None) or error
  return str(reason).strip() or type(error).__name__


def fetch(remote: RemoteFile, directory: str, mirror: str | None = None,
          dataset: str | None = None) -> str:
  """The verified local path of `remote` in `directory`, downloading it if absent.

  Args:
    remote: the file and its digests.
    directory: where it lives, `<data_dir>/<dataset>`.
    mirror: a base URL tried before the official URLs, as
      `<mirror>/<dataset>/<filename>`; defaults to `$TFRANKCF_MIRROR`.
    dataset: the dataset's name in the mirror's layout (default: the
      directory's name).
  """
  path = os.path.join(directory, remote.filename)
  if os.path.exists(path):
    _verify_present(remote, path)
    return path
  os.makedirs(directory, exist_ok=True)
  mirror = mirror or os.environ.get(MIRROR_ENV)
  urls = list(remote.urls)
  if mirror:
    dataset = dataset or os.path.basename(os.path.normpath(directory))
    urls.insert(0, f"{mirror.rstrip('/')}/{dataset}/{remote.filename}")
  failures = []
  for url in urls:
    logging.info("downloading %s to %s", url, path)
    try:
      temp = _download(url, directory, remote.filename)
    except (OSError, ValueError, http.client.HTTPException) as error:  # URLError is an OSError
      failures.append(f"{url} ({_failure_reason(error)})")
      continue
    digests = file_digests(temp)
    problem = _mismatch(remote.pinned, digests)
    if problem:
      os.remove(temp)
      raise InputError(f"checksum mismatch for {remote.filename} downloaded from "
                       f"{url}: {problem}; the file was not kept")
    if not remote.pinned:
      logging.warning("%s has no published checksum; recorded sha256 %s (trust on "
                      "first use)", remote.filename, digests["sha256"])
    os.replace(temp, path)
    _write_stamp(path, digests, source=url)
    return path
  raise InputError(_placement_message(remote, path, failures))


def _placement_message(remote: RemoteFile, path: str, failures: list[str]) -> str:
  """One line: what failed, where to get the file and where to put it."""
  parts = []
  if failures:
    parts.append(f"could not download {remote.filename}: " + "; ".join(failures))
  else:
    parts.append(f"{remote.filename} has no public download URL")
  if remote.manual:
    parts.append(remote.manual)
  elif remote.urls:
    parts.append(f"download {remote.urls[0]} by hand")
  checks = ", ".join(f"{kind} {digest}" for kind, digest in remote.pinned.items())
  parts.append(f"place it at {path}" + (f" (expected {checks})" if checks else ""))
  return ". ".join(parts)
