"""Item names (titles) for serving: `id<TAB>name` files, ML-100K's `u.item`, ML-1M's `movies.dat`.

`read_item_names(path)` returns an `ItemNames`: raw item id -> name. Three
formats are read as they are shipped:

* `tsv`: `id<TAB>name` per line (further tab-separated columns are ignored,
  a first line whose id column is a header such as `item_id` is skipped);
* `u.item` (ML-100K): `id|title|release date|...|genre flags`;
* `movies.dat` (ML-1M, ML-10M): `id::title::genres`.

The format is recognised by the file's name (`u.item`, `movies.dat`), else by
its first line (a tab, then `::`, then `|`). Files are decoded as UTF-8, or as
latin-1 when they are not valid UTF-8 (the GroupLens files are latin-1). No
TensorFlow here, so a bad file fails before any model is loaded.
"""

import dataclasses
import os

from tfrankcf.errors import InputError

FORMATS = ("tsv", "u.item", "movies.dat")
_SEPARATORS = {"tsv": "\t", "u.item": "|", "movies.dat": "::"}
_LINE_SHAPES = {"tsv": "id<TAB>name", "u.item": "id|title|...", "movies.dat": "id::title::genres"}
_HEADER_IDS = {"id", "item", "item_id", "itemid", "movie_id", "movieid", "sid"}


@dataclasses.dataclass
class ItemNames:
  """Names of raw item ids, read from `path` in `format`."""

  names: dict
  path: str | None = None
  format: str | None = None

  def for_items(self, item_ids) -> list:
    """The name of each of `item_ids` ("" for ids without one).

    Raises an `InputError` when the file names none of them: it is then the
    names file of another dataset.
    """
    item_ids = [str(item) for item in item_ids]
    named = [self.names.get(item, "") for item in item_ids]
    if item_ids and not any(item in self.names for item in item_ids):
      raise InputError(f"none of its {len(self.names)} ids is an item of the model "
                       f"(e.g. '{item_ids[0]}'): the names of another dataset?", path=self.path)
    return named

  def coverage(self, item_ids) -> tuple:
    """(ids of `item_ids` with a name, len(item_ids))."""
    item_ids = [str(item) for item in item_ids]
    return sum(item in self.names for item in item_ids), len(item_ids)


def _decode(data: bytes) -> str:
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError:
    return data.decode("latin-1")


def detect_format(path: str, first_line: str) -> str:
  """The format of the names file at `path` whose first non-blank line is `first_line`."""
  name = os.path.basename(path).lower()
  if name == "u.item" or name.endswith("_u.item"):
    return "u.item"
  if name == "movies.dat" or name.endswith("_movies.dat"):
    return "movies.dat"
  for candidate in ("tsv", "movies.dat", "u.item"):  # movies.dat's genres hold '|'
    if _SEPARATORS[candidate] in first_line:
      return candidate
  raise InputError("not an item names file: expected 'id<TAB>name' lines, ML-100K's u.item "
                   "('id|title|...') or ML-1M's movies.dat ('id::title::genres')",
                   path=path, line=1)


def parse_item_names(text: str, path: str | None = None,
                     file_format: str | None = None) -> ItemNames:
  """`ItemNames` of the decoded contents `text` of a names file."""
  lines = text.splitlines()
  numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
  if not numbered:
    raise InputError("no item names (the file is empty)", path=path)
  file_format = file_format or detect_format(path or "", numbered[0][1])
  if file_format not in FORMATS:
    raise InputError(f"unknown item names format '{file_format}'; known: {', '.join(FORMATS)}")
  separator = _SEPARATORS[file_format]
  names, first_seen = {}, {}
  for position, (number, line) in enumerate(numbered):
    fields = line.split(separator)
    item = fields[0].strip()
    if position == 0 and file_format == "tsv" and (
        item.lower().split(":")[0] in _HEADER_IDS):
      continue  # a header row (RecBole's .item files: item_id:token)
    if len(fields) < 2:
      raise InputError(f"expected '{_LINE_SHAPES[file_format]}' ({file_format} format)",
                       path=path, line=number)
    if not item:
      raise InputError("empty item id", path=path, line=number)
    name = fields[1].strip()
    if item in names and names[item] != name:
      raise InputError(f"item id '{item}' is named twice (first on line {first_seen[item]})",
                       path=path, line=number)
    names[item], first_seen[item] = name, number
  if not names:
    raise InputError("no item names (a header only)", path=path)
  return ItemNames(names=names, path=path, format=file_format)


def read_item_names(path: str) -> ItemNames:
  """The `ItemNames` of the file at `path` (any of `FORMATS`)."""
  if not os.path.isfile(path):
    raise InputError("no such item names file", path=path)
  with open(path, "rb") as f:
    text = _decode(f.read())
  return parse_item_names(text, path)
