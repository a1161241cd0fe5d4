"""Download + cache, offline: file:// URLs and a local HTTP server."""

import hashlib
import http.server
import os
import threading

import pytest

from tfrankcf.datasets import download
from tfrankcf.datasets.download import RemoteFile, fetch, file_digests
from tfrankcf.errors import InputError

PAYLOAD = b"1\t10\t5\t100\n2\t11\t4\t101\n"


class _Server:
  """Serves `files` on localhost and counts the requests per path."""

  def __init__(self, files):
    requests = self.requests = []

    class Handler(http.server.BaseHTTPRequestHandler):

      def do_GET(self):  # pylint: disable=invalid-name
        requests.append(self.path)
        body = files.get(self.path)
        if body is None:
          self.send_error(404)
          return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

      def log_message(self, *args):
        pass

    self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
    self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

  def __enter__(self):
    self.thread.start()
    return self

  def __exit__(self, *exc):
    self.httpd.shutdown()
    self.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch):
  monkeypatch.delenv(download.MIRROR_ENV, raising=False)


def test_git_blob_digest_matches_git_hash_object(tmp_path):
  (tmp_path / "empty").write_bytes(b"")
  (tmp_path / "hello").write_bytes(b"hello\n")
  assert file_digests(str(tmp_path / "empty"))["git_sha1"] == (
      "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
  assert file_digests(str(tmp_path / "hello"))["git_sha1"] == (
      "ce013625030ba8dba906f756967f9e9ca394464a")


def test_file_url_download_verified(tmp_path):
  source = tmp_path / "source.tsv"
  source.write_bytes(PAYLOAD)
  remote = RemoteFile("data.tsv", urls=(source.as_uri(),),
                      sha256=hashlib.sha256(PAYLOAD).hexdigest())
  path = fetch(remote, str(tmp_path / "cache" / "toy"))
  assert path == str(tmp_path / "cache" / "toy" / "data.tsv")
  assert open(path, "rb").read() == PAYLOAD
  assert os.path.exists(path + download.STAMP_SUFFIX)
  assert sorted(os.listdir(tmp_path / "cache" / "toy")) == [
      "data.tsv", "data.tsv" + download.STAMP_SUFFIX]


def test_http_download_then_cache_hit_without_request(tmp_path):
  remote_path = "/files/data.tsv"
  with _Server({remote_path: PAYLOAD}) as server:
    remote = RemoteFile("data.tsv", urls=(server.url + remote_path,),
                        md5=hashlib.md5(PAYLOAD).hexdigest())
    first = fetch(remote, str(tmp_path / "toy"))
    second = fetch(remote, str(tmp_path / "toy"))
  assert first == second
  assert server.requests == [remote_path]
  assert open(first, "rb").read() == PAYLOAD


def test_checksum_mismatch_raises_and_keeps_nothing(tmp_path):
  with _Server({"/data.tsv": PAYLOAD}) as server:
    remote = RemoteFile("data.tsv", urls=(server.url + "/data.tsv",), md5="0" * 32)
    with pytest.raises(InputError) as error:
      fetch(remote, str(tmp_path / "toy"))
  message = str(error.value)
  assert "checksum mismatch for data.tsv" in message
  assert "expected md5 " + "0" * 32 in message
  assert hashlib.md5(PAYLOAD).hexdigest() in message
  assert os.listdir(tmp_path / "toy") == []


def test_failed_download_says_which_file_to_place_where(tmp_path):
  with _Server({}) as server:
    remote = RemoteFile("ml-1m.zip", urls=(server.url + "/ml-1m.zip",), md5="c" * 32)
    with pytest.raises(InputError) as error:
      fetch(remote, str(tmp_path / "ml1m"))
  message = str(error.value)
  assert server.url + "/ml-1m.zip (Not Found)" in message
  assert f"place it at {tmp_path / 'ml1m' / 'ml-1m.zip'}" in message
  assert "expected md5 " + "c" * 32 in message
  assert "\n" not in message
  assert os.listdir(tmp_path / "ml1m") == []


def test_unreachable_host_and_manual_instruction(tmp_path):
  remote = RemoteFile("netflix-prize-data.zip", manual="get it from Kaggle")
  with pytest.raises(InputError, match=(
      r"has no public download URL\. get it from Kaggle\. place it at .*"
      r"netflix/netflix-prize-data\.zip")):
    fetch(remote, str(tmp_path / "netflix"))
  unreachable = RemoteFile("x.zip", urls=("http://127.0.0.1:9/x.zip",))
  with pytest.raises(InputError, match=r"could not download x.zip: http://127.0.0.1:9/x.zip \("):
    fetch(unreachable, str(tmp_path / "x"))


def test_mirror_is_tried_first(tmp_path, monkeypatch):
  mirror = tmp_path / "mirror"
  (mirror / "toy").mkdir(parents=True)
  (mirror / "toy" / "data.tsv").write_bytes(PAYLOAD)
  monkeypatch.setenv(download.MIRROR_ENV, mirror.as_uri())
  remote = RemoteFile("data.tsv", urls=("http://127.0.0.1:9/data.tsv",),
                      sha256=hashlib.sha256(PAYLOAD).hexdigest())
  path = fetch(remote, str(tmp_path / "cache" / "toy"))
  assert open(path, "rb").read() == PAYLOAD


def test_placed_file_is_verified(tmp_path):
  directory = tmp_path / "toy"
  directory.mkdir()
  (directory / "data.tsv").write_bytes(b"not the data\n")
  remote = RemoteFile("data.tsv", md5=hashlib.md5(PAYLOAD).hexdigest())
  with pytest.raises(InputError, match=r"data.tsv: checksum mismatch: expected md5 "):
    fetch(remote, str(directory))
  (directory / "data.tsv").write_bytes(PAYLOAD)
  assert fetch(remote, str(directory)) == str(directory / "data.tsv")


def test_trust_on_first_use(tmp_path):
  directory = tmp_path / "toy"
  directory.mkdir()
  (directory / "data.tsv").write_bytes(PAYLOAD)
  remote = RemoteFile("data.tsv")
  fetch(remote, str(directory))  # records the sha256
  fetch(remote, str(directory))
  (directory / "data.tsv").write_bytes(PAYLOAD + b"3\t12\t1\t102\n")
  with pytest.raises(InputError, match="changed since its first use: recorded sha256 "
                     + hashlib.sha256(PAYLOAD).hexdigest()):
    fetch(remote, str(directory))
