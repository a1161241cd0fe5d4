"""Item names files: `id<TAB>name`, ML-100K's u.item and ML-1M's movies.dat, as shipped."""

import shutil
from pathlib import Path

import pytest

from tfrankcf.errors import InputError
from tfrankcf.serving.item_names import ItemNames, read_item_names

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "serving"
SHARED_U_ITEM = (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ml-100k"
                 / "u.item")


@pytest.mark.parametrize("name,file_format,expected", [
    ("ml-100k_u.item", "u.item",
     {"1": "Toy Story (1995)", "50": "Star Wars (1977)", "543": "Misérables, Les (1995)"}),
    ("ml-1m_movies.dat", "movies.dat",
     {"1": "Toy Story (1995)", "6": "Heat (1995)", "73": "Misérables, Les (1995)"}),
    ("item_names.tsv", "tsv", {"1": "Toy Story", "7": "Amélie"}),
])
def test_the_three_formats_parse_by_name_and_by_content(tmp_path, name, file_format, expected):
  counts = {"u.item": 11, "movies.dat": 7, "tsv": 7}  # the tsv's header row is skipped
  by_name = read_item_names(str(TESTDATA / name))
  renamed = tmp_path / "names.txt"  # no telling name: recognised by the first line
  shutil.copy(TESTDATA / name, renamed)
  by_content = read_item_names(str(renamed))
  for names in (by_name, by_content):
    assert names.format == file_format
    assert len(names.names) == counts[file_format]
    for item, title in expected.items():
      assert names.names[item] == title
  assert "item_id" not in by_name.names


def test_the_real_ml100k_u_item():
  if not SHARED_U_ITEM.is_file():
    pytest.skip(f"{SHARED_U_ITEM} is not present")
  names = read_item_names(str(SHARED_U_ITEM))
  assert names.format == "u.item" and len(names.names) == 1682
  assert names.names["50"] == "Star Wars (1977)"
  assert names.names["1104"] == "C'est arrivé près de chez vous (1992)"  # latin-1


def test_names_for_a_model_s_items():
  names = ItemNames({"1": "one", "3": "three"}, path="names.tsv")
  assert names.for_items(["3", "2", "1"]) == ["three", "", "one"]
  assert names.coverage(["3", "2", "1"]) == (2, 3)
  with pytest.raises(InputError, match=r"^names.tsv: none of its 2 ids is an item of the "):
    names.for_items(["7", "8"])


@pytest.mark.parametrize("name,content,expected", [
    ("names.tsv", b"", ": no item names (the file is empty)"),
    ("names.tsv", b"item_id\tname\n", ": no item names (a header only)"),
    ("names.tsv", b"1\tone\n2\n", ":2: expected 'id<TAB>name' (tsv format)"),
    ("names.tsv", b"1\tone\n\tnameless\n", ":2: empty item id"),
    ("names.tsv", b"1\tone\n2\ttwo\n1\tuno\n",
     ":3: item id '1' is named twice (first on line 1)"),
    ("movies.dat", b"1::Toy Story (1995)::Comedy\n2 Jumanji\n",
     ":2: expected 'id::title::genres' (movies.dat format)"),
    ("names.txt", b"1 Toy Story\n", ":1: not an item names file"),
])
def test_bad_names_files_name_the_file_and_line(tmp_path, name, content, expected):
  path = tmp_path / name
  path.write_bytes(content)
  with pytest.raises(InputError) as error:
    read_item_names(str(path))
  assert str(error.value).startswith(f"{path}{expected}")


def test_a_missing_names_file(tmp_path):
  with pytest.raises(InputError, match="no such item names file"):
    read_item_names(str(tmp_path / "u.item"))
