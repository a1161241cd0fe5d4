"""Readers of user-item interaction files.

`read_interactions(path)` reads any delimited user-item file (csv, tsv,
`::`-separated `.dat`, whitespace) into `Interactions`: the separator and a
header line are detected from the first data lines unless given, and `.gz`,
`.bz2`, `.xz` and `.zip` files are decompressed on the fly. The columns are, in
order, user, item, optional rating, optional timestamp (unix seconds or ISO
dates); `columns` names them differently for other layouts.

`FORMATS` maps the registry's format names to readers of each real release
(MovieLens, Netflix Prize `combined_data_*.txt`, MSD taste-profile triplets,
NCF/APR `*.rating`, SNAP Gowalla check-ins, MovieTweetings); each returns a
`pandas.DataFrame` with columns user, item and, when present, rating and
timestamp, which `to_interactions` indexes.

Parsing runs through pandas' C engine. When it meets anything wrong, the file
is scanned again line by line to report the first bad line: every problem
raises `InputError` naming the file, the 1-based line and what is wrong.
"""

import bz2
import dataclasses
import functools
import gzip
import io
import lzma
import math
import os
import re
import zipfile
from datetime import datetime
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError

ROLES = ("user", "item", "rating", "timestamp")
DEFAULT_COLUMNS = ("user", "item", "rating", "timestamp")
SEPARATORS = ("::", "\t", ",", ";", "|")  # tried in this order
WHITESPACE = r"\s+"
HEADER_WORDS = frozenset({
    "user", "userid", "uid", "users", "customer", "customerid", "item",
    "itemid", "iid", "sid", "items", "movie", "movieid", "song", "songid",
    "rating", "ratings", "score", "playcount", "count", "timestamp", "time",
    "date", "datetime", "ts"})
_SAMPLE_LINES = 20
_CHUNK_ROWS = 5_000_000


@dataclasses.dataclass(frozen=True)
class TextSource:
  """A text file on disk, or one member of a zip archive."""

  path: str
  member: str | None = None

  @property
  def label(self) -> str:
    """How errors name the file."""
    return self.path if self.member is None else f"{self.path}[{self.member}]"

  def open(self) -> io.BufferedIOBase:
    """The file's bytes, decompressed."""
    path = self.path
    if not os.path.exists(path):
      raise InputError("no such file", path=path)
    if os.path.isdir(path):
      raise InputError("is a directory, not an interactions file", path=path)
    if self.member is not None or path.endswith(".zip"):
      return self._open_zip_member()
    if path.endswith(".gz"):
      return gzip.open(path, "rb")
    if path.endswith(".bz2"):
      return bz2.open(path, "rb")
    if path.endswith(".xz"):
      return lzma.open(path, "rb")
    return open(path, "rb")

  def _open_zip_member(self) -> io.BufferedIOBase:
    try:
      archive = zipfile.ZipFile(self.path)
    except zipfile.BadZipFile:
      raise InputError("not a valid zip archive", path=self.path) from None
    names = [info.filename for info in archive.infolist() if not info.is_dir()]
    member = self.member
    if member is None:
      if len(names) != 1:
        raise InputError(f"the zip archive holds {len(names)} files "
                         f"({', '.join(names[:5])}); name the one to read",
                         path=self.path)
      member = names[0]
    if member not in names:
      raise InputError(f"the zip archive has no member '{member}' "
                       f"(it holds {', '.join(names[:5])})", path=self.path)
    stream = archive.open(member)
    archive.close()  # the archive file stays open until `stream` is closed
    return stream

  def lines(self) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line break) of every line."""
    with self.open() as raw:
      text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
      for number, line in enumerate(text, start=1):
        yield number, line.rstrip("\r\n")


def _splitter(sep: str) -> Callable[[str], list[str]]:
  if sep == WHITESPACE:
    return lambda line: line.split()
  return lambda line: [field.strip() for field in line.split(sep)]


def detect_separator(lines: Sequence[str]) -> str:
  """The first of `SEPARATORS` in most of the sampled lines, else whitespace.

  A majority rather than every line, so that a malformed line among the first
  few is reported as such rather than changing the separator.
  """
  for sep in SEPARATORS:
    if 2 * sum(sep in line for line in lines) > len(lines):
      return sep
  return WHITESPACE


def _is_number(field: str) -> bool:
  try:
    return math.isfinite(float(field))
  except ValueError:
    return False


def _is_date(field: str) -> bool:
  try:
    datetime.fromisoformat(field)
    return True
  except ValueError:
    return False


def _looks_like_header(first: list[str], second: list[str] | None,
                       roles: dict[str, int]) -> bool:
  """Whether the first line names the columns rather than holding data."""
  def value(fields, role):
    index = roles.get(role)
    return fields[index] if index is not None and index < len(fields) else None

  for role in ("rating", "timestamp"):
    field = value(first, role)
    if field is not None and not (_is_number(field) or _is_date(field)):
      return True
  words = [re.sub(r"[^a-z]", "", field.lower()) for field in first]
  if words and all(word in HEADER_WORDS for word in words[:2]):
    return True
  if second is not None:
    for role in ("user", "item"):
      head, data = value(first, role), value(second, role)
      if head is not None and data is not None and not _is_number(head) and _is_number(data):
        return True
  return False


def _roles(columns: Sequence[str | None], num_columns: int, label: str) -> dict[str, int]:
  roles = {}
  for index, role in enumerate(columns):
    if role is None or index >= num_columns:
      continue
    if role not in ROLES:
      raise InputError(f"unknown column role '{role}' (use {', '.join(ROLES)} or None)")
    roles[role] = index
  for role in ("user", "item"):
    if role not in roles:
      raise InputError(f"no {role} column among the file's {num_columns} columns", path=label)
  return roles


@dataclasses.dataclass
class _Layout:
  """How a delimited file is laid out: what the line-by-line check compares with."""

  sep: str
  header: bool
  num_columns: int
  first_line: int
  roles: dict[str, int]
  timestamp_is_date: bool = False


def _field_problem(role: str, field: str, layout: _Layout) -> str | None:
  if role in ("user", "item"):
    return None if field else f"empty {role} id"
  if role == "rating":
    return None if _is_number(field) else f"rating '{field}' is not a number"
  if layout.timestamp_is_date:
    if _is_date(field):
      return None
    return f"timestamp '{field}' is not an ISO date like line {layout.first_line}'s"
  return None if _is_number(field) else f"timestamp '{field}' is not a number"


def _first_bad_line(source: TextSource, layout: _Layout) -> tuple[int, str] | None:
  """The first line that breaks `layout`, with the problem, by a line-by-line scan."""
  split = _splitter(layout.sep)
  seen_header = not layout.header
  for number, line in source.lines():
    if not line.strip():
      continue
    if not seen_header:
      seen_header = True
      continue
    fields = split(line)
    if len(fields) < 2:
      return number, f"expected at least 2 columns, got {len(fields)}"
    if len(fields) != layout.num_columns:
      return number, (f"expected {layout.num_columns} columns like line "
                      f"{layout.first_line}, got {len(fields)}")
    for role, index in layout.roles.items():
      problem = _field_problem(role, fields[index], layout)
      if problem:
        return number, problem
  return None


def _raise_first_bad_line(source: TextSource, layout: _Layout, fallback: str):
  found = _first_bad_line(source, layout)
  if found is None:
    raise InputError(f"could not parse the file ({fallback})", path=source.label)
  line, problem = found
  raise InputError(problem, path=source.label, line=line)


def _sample(source: TextSource) -> list[tuple[int, str]]:
  sample = []
  for number, line in source.lines():
    if line.strip():
      sample.append((number, line))
      if len(sample) > _SAMPLE_LINES:
        break
  return sample


def _read_columns(source: TextSource, layout: _Layout) -> pd.DataFrame:
  """All columns as pandas infers them; raises pandas' errors on bad structure."""
  options = dict(header=0 if layout.header else None, keep_default_na=False,
                 na_values=[""], skipinitialspace=True, encoding="utf-8-sig",
                 encoding_errors="replace")
  count = layout.num_columns
  if layout.sep == "::":
    # Fast path: split on ':' with the C engine; the fields between the two
    # colons must all be empty, otherwise some field holds a ':' itself.
    with source.open() as stream:
      frame = pd.read_csv(stream, sep=":", names=range(2 * count - 1), **options)
    if frame.iloc[:, 1::2].isna().all(axis=None):
      frame = frame.iloc[:, 0::2]
      frame.columns = range(count)
      return frame
  if layout.sep == WHITESPACE or len(layout.sep) == 1:
    options.update(sep=layout.sep)
  else:
    options.update(sep=re.escape(layout.sep), engine="python")
  with source.open() as stream:
    return pd.read_csv(stream, names=range(count), **options)


def _timestamps(column: pd.Series, is_date: bool) -> pd.Series:
  """Unix seconds (NaN where unparseable) from numbers or ISO dates."""
  if is_date:
    parsed = pd.to_datetime(column, utc=True, errors="coerce")
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.where(parsed.notna())
  return np.floor(pd.to_numeric(column, errors="coerce"))


def normalize_separator(sep: str | None) -> str | None:
  """A separator as typed on a command line: '\\t' is a tab, blanks are whitespace."""
  if sep is None or sep == "":
    return None
  sep = sep.replace("\\t", "\t")
  if sep != "\t" and not sep.strip():
    return WHITESPACE
  return sep


def read_frame(source: TextSource | str, sep: str | None = None, header: bool | None = None,
               columns: Sequence[str | None] = DEFAULT_COLUMNS) -> pd.DataFrame:
  """A delimited file as a DataFrame with columns user, item[, rating][, timestamp].

  Args:
    source: the file (a path or a `TextSource`).
    sep: the column separator; None detects it from the first data lines.
    header: whether the first line is a header; None detects it.
    columns: the role of each column in order (user, item, rating,
      timestamp, or None to skip it); columns beyond the file's are ignored.
  """
  if isinstance(source, str):
    source = TextSource(source)
  sample = _sample(source)
  if not sample:
    raise InputError("no interactions (the file is empty)", path=source.label)
  sep = normalize_separator(sep)
  if sep is None:
    sep = detect_separator([line for _, line in sample])
  split = _splitter(sep)
  first_number, first_line = sample[0]
  first = split(first_line)
  if len(first) < 2:
    raise InputError(f"expected at least 2 columns, got {len(first)}",
                     path=source.label, line=first_number)
  roles = _roles(columns, len(first), source.label)
  if header is None:
    second = split(sample[1][1]) if len(sample) > 1 else None
    header = _looks_like_header(first, second, roles)
  data = sample[1:] if header else sample
  if not data:
    raise InputError("no interactions (the file holds only a header)", path=source.label)
  data_number, data_line = data[0]
  data_fields = split(data_line)
  layout = _Layout(sep=sep, header=header, num_columns=len(first), first_line=data_number,
                   roles=roles)
  if "timestamp" in roles and roles["timestamp"] < len(data_fields):
    stamp = data_fields[roles["timestamp"]]
    layout.timestamp_is_date = not _is_number(stamp) and _is_date(stamp)

  try:
    raw = _read_columns(source, layout)
  except (pd.errors.ParserError, ValueError) as error:
    _raise_first_bad_line(source, layout, str(error).strip().splitlines()[-1])
  frame = pd.DataFrame({role: raw[layout.roles[role]] for role in ROLES
                        if role in layout.roles})
  bad = frame[["user", "item"]].isna().any(axis=1).to_numpy()
  if "rating" in frame:
    frame["rating"] = pd.to_numeric(frame["rating"], errors="coerce")
    bad = bad | ~np.isfinite(frame["rating"].to_numpy(np.float64))
  if "timestamp" in frame:
    frame["timestamp"] = _timestamps(frame["timestamp"], layout.timestamp_is_date)
    bad = bad | frame["timestamp"].isna().to_numpy()
  if bad.any():
    _raise_first_bad_line(source, layout, f"data row {int(np.argmax(bad)) + 1} is malformed")
  if "timestamp" in frame:
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
  if not len(frame):
    raise InputError("no interactions", path=source.label)
  return frame


def _netflix_problem(fields: list[str]) -> str | None:
  if len(fields) != 3:
    return f"expected 'user,rating,date' (3 columns), got {len(fields)}"
  user, rating, date = fields
  if not user.isdigit():
    return f"user id '{user}' is not an integer"
  if not _is_number(rating):
    return f"rating '{rating}' is not a number"
  if not _is_date(date):
    return f"date '{date}' is not YYYY-MM-DD"
  return None


def _netflix_first_bad_line(source: TextSource) -> tuple[int, str] | None:
  movie_seen = False
  for number, line in source.lines():
    line = line.strip()
    if not line:
      continue
    if line.endswith(":"):
      if not line[:-1].isdigit():
        return number, f"movie line '{line}' is not '<movie id>:'"
      movie_seen = True
      continue
    if not movie_seen:
      return number, "expected a '<movie id>:' line before the first rating"
    problem = _netflix_problem([field.strip() for field in line.split(",")])
    if problem:
      return number, problem
  return None


def read_netflix(source: TextSource | str) -> pd.DataFrame:
  """A Netflix Prize `combined_data_*.txt`: `<movie>:` lines, each followed by
  its `user,rating,YYYY-MM-DD` lines. Dates become unix seconds (UTC midnight)."""
  if isinstance(source, str):
    source = TextSource(source)

  def fail(fallback):
    found = _netflix_first_bad_line(source)
    if found is None:
      raise InputError(f"could not parse the file ({fallback})", path=source.label)
    raise InputError(found[1], path=source.label, line=found[0])

  parts, movie = [], np.nan
  try:
    with source.open() as stream:
      reader = pd.read_csv(stream, header=None, names=["user", "rating", "date"],
                           dtype={"user": str, "date": str}, keep_default_na=False,
                           na_values=[""], skipinitialspace=True, chunksize=_CHUNK_ROWS)
      for chunk in reader:
        user = chunk["user"].str.strip()
        is_movie = chunk["rating"].isna() & chunk["date"].isna() & user.str.endswith(":")
        movies = pd.to_numeric(user.where(is_movie).str[:-1], errors="coerce")
        if movies[is_movie].isna().any():
          fail("bad movie line")
        movies = movies.ffill().fillna(movie)
        if len(movies):
          movie = movies.iloc[-1]
        rows = ~is_movie
        frame = pd.DataFrame({
            "user": pd.to_numeric(user[rows], errors="coerce"),
            "item": movies[rows],
            "rating": pd.to_numeric(chunk["rating"][rows], errors="coerce"),
            "timestamp": pd.to_datetime(chunk["date"][rows], format="%Y-%m-%d",
                                        utc=True, errors="coerce")})
        if frame.isna().any(axis=None):
          fail("malformed rating line")
        frame["timestamp"] = ((frame["timestamp"] - pd.Timestamp(0, tz="UTC"))
                              // pd.Timedelta(seconds=1))
        parts.append(frame.astype({"user": np.int64, "item": np.int64,
                                   "timestamp": np.int64}))
  except (pd.errors.ParserError, ValueError) as error:
    fail(str(error).strip().splitlines()[-1])
  except pd.errors.EmptyDataError:
    raise InputError("no interactions (the file is empty)", path=source.label) from None
  frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
  if not len(frame):
    raise InputError("no interactions", path=source.label)
  return frame


FORMATS: dict[str, Callable[[TextSource], pd.DataFrame]] = {
    # ML-100K u.data: user \t item \t rating \t timestamp, no header.
    "ml100k_udata": functools.partial(read_frame, sep="\t", header=False),
    # ML-1M/10M ratings.dat and MovieTweetings ratings.dat: user::item::rating::timestamp.
    "movielens_dat": functools.partial(read_frame, sep="::", header=False),
    # ML-20M/25M ratings.csv: header userId,movieId,rating,timestamp.
    "movielens_csv": functools.partial(read_frame, sep=",", header=True),
    # Netflix Prize combined_data_*.txt blocks.
    "netflix_combined": read_netflix,
    # MSD Echo Nest taste profile: user \t song \t playcount (playcount -> rating).
    "msd_triplets": functools.partial(read_frame, sep="\t", header=False,
                                      columns=("user", "item", "rating")),
    # NCF / APR *.train.rating, *.test.rating: user \t item \t rating \t timestamp, 0-based.
    "ncf_rating": functools.partial(read_frame, sep="\t", header=False),
    # SNAP loc-gowalla_totalCheckins: user \t ISO time \t lat \t lon \t location id.
    "gowalla_checkins": functools.partial(
        read_frame, sep="\t", header=False,
        columns=("user", "timestamp", None, None, "item")),
}


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
  """Indices in sorted raw-id order (as `Interactions.from_raw`) and the raw ids."""
  codes, uniques = pd.factorize(column, sort=True)
  uniques = np.asarray(uniques)
  if uniques.dtype == object:
    uniques = uniques.astype(str)
  return codes.astype(np.int64), uniques


def to_interactions(frame: pd.DataFrame, name: str) -> Interactions:
  """`Interactions` of a reader's DataFrame, ids indexed in sorted raw-id order."""
  users, user_ids = _codes(frame["user"])
  items, item_ids = _codes(frame["item"])
  return Interactions(
      users=users, items=items,
      ratings=(frame["rating"].to_numpy(np.float32) if "rating" in frame else None),
      timestamps=(frame["timestamp"].to_numpy(np.int64) if "timestamp" in frame else None),
      user_ids=user_ids, item_ids=item_ids, name=name)


def index_in(raw: pd.Series, ids: np.ndarray) -> np.ndarray:
  """Index of each raw id in `ids` (-1 when absent); ids compare as text when
  one side is numeric and the other is not."""
  values = raw.to_numpy()
  if (values.dtype.kind in "iuf") != (ids.dtype.kind in "iuf"):
    values, ids = values.astype(str), ids.astype(str)
  return pd.Index(ids).get_indexer(values).astype(np.int64)


def read_interactions(path: str, sep: str | None = None, name: str | None = None,
                      columns: Sequence[str | None] = DEFAULT_COLUMNS,
                      header: bool | None = None) -> Interactions:
  """Any delimited user-item file as `Interactions` (see the module docstring)."""
  frame = read_frame(TextSource(path), sep=sep, header=header, columns=columns)
  return to_interactions(frame, name or path)
