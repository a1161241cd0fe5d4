"""Readers: every real format on a fixture in that exact format, detection, errors."""

import datetime
import gzip
import os
import zipfile

import numpy as np
import pytest

from tfrankcf.datasets import readers
from tfrankcf.datasets.readers import FORMATS, TextSource, read_interactions
from tfrankcf.errors import InputError

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "datasets")


def _fixture(name):
  return os.path.join(TESTDATA, name)


def _unix(text):
  return int(datetime.datetime.fromisoformat(text).replace(
      tzinfo=datetime.timezone.utc).timestamp())


def test_ml100k_udata():
  frame = FORMATS["ml100k_udata"](TextSource(_fixture("ml-100k_u.data")))
  assert list(frame.columns) == ["user", "item", "rating", "timestamp"]
  assert len(frame) == 12
  assert frame.iloc[0].tolist() == [196, 242, 3.0, 881250949]


def test_ml1m_ratings_dat():
  frame = FORMATS["movielens_dat"](TextSource(_fixture("ml-1m_ratings.dat")))
  assert len(frame) == 9
  assert frame.iloc[4].tolist() == [2, 3068, 4.0, 978299000]
  assert frame["timestamp"].dtype == np.int64


def test_ml20m_ratings_csv_with_header():
  frame = FORMATS["movielens_csv"](TextSource(_fixture("ml-20m_ratings.csv")))
  assert len(frame) == 7
  assert frame.iloc[0].tolist() == [1, 2, 3.5, 1112486027]
  assert frame["rating"].min() == 0.5


def test_netflix_combined_data():
  frame = FORMATS["netflix_combined"](TextSource(_fixture("netflix_combined_data_1.txt")))
  assert frame["item"].tolist() == [1, 1, 1, 2, 2, 3]
  assert frame["user"].tolist() == [1488844, 822109, 885013, 2059652, 1488844, 822109]
  assert frame["rating"].tolist() == [3, 5, 4, 4, 2, 1]
  assert frame["timestamp"].iloc[0] == _unix("2005-09-06")


def test_msd_triplets():
  frame = FORMATS["msd_triplets"](TextSource(_fixture("msd_train_triplets.txt")))
  assert list(frame.columns) == ["user", "item", "rating"]
  assert frame["rating"].tolist() == [1, 1, 2, 5, 1]
  data = readers.to_interactions(frame, "msd")
  assert data.num_users == 2 and data.num_items == 4
  assert data.item_ids[0] == "SOAKIMP12A8C130995"
  assert data.timestamps is None


def test_ncf_rating_train_and_test():
  frame = FORMATS["ncf_rating"](TextSource(_fixture("yelp.train.rating")))
  assert frame.iloc[0].tolist() == [0, 32, 4.0, 1420473600]
  test = FORMATS["ncf_rating"](TextSource(_fixture("yelp.test.rating")))
  assert test["item"].tolist() == [2, 3, 1, 99]


def test_gowalla_checkins():
  frame = FORMATS["gowalla_checkins"](TextSource(_fixture("gowalla_totalCheckins.txt")))
  assert list(frame.columns) == ["user", "item", "timestamp"]
  assert frame["item"].tolist()[:3] == [145064, 1275991, 376497]
  assert frame["timestamp"].iloc[0] == _unix("2010-07-24T13:45:06")


def test_movietweetings_ratings_dat():
  data = read_interactions(_fixture("movietweetings_ratings.dat"), name="movietweetings")
  assert len(data) == 8 and data.num_users == 4
  assert data.ratings.max() == 10 and data.ratings.min() == 0
  assert 104257 in data.item_ids


@pytest.mark.parametrize("text,columns", [
    ("1\t10\t5\t100\n2\t11\t4\t101\n", 4),
    ("1::10::5::100\n2::11::4::101\n", 4),
    ("1,10,5,100\n2,11,4,101\n", 4),
    ("1;10;5\n2;11;4\n", 3),
    ("1 10  5 100\n  2 11 4 101\n", 4),
    ("user,item\n1,10\n2,11\n", 2),
    ("uid\tsid\trating\n1\t10\t5\n2\t11\t4\n", 3),
])
def test_separator_and_header_detection(tmp_path, text, columns):
  path = tmp_path / "data.txt"
  path.write_text(text)
  frame = readers.read_frame(str(path))
  assert frame["user"].tolist() == [1, 2]
  assert frame["item"].tolist() == [10, 11]
  assert len(frame.columns) == min(columns, 4)


def test_header_detected_for_string_ids(tmp_path):
  path = tmp_path / "data.csv"
  path.write_text("customer,product,score\nu1,i1,1\nu2,i1,2\n")
  frame = readers.read_frame(str(path))
  assert frame["user"].tolist() == ["u1", "u2"]


def test_explicit_separator_as_typed(tmp_path):
  path = tmp_path / "data.txt"
  path.write_text("1\t10,a\t5\n2\t11,b\t4\n")
  frame = readers.read_frame(str(path), sep="\\t")
  assert frame["item"].tolist() == ["10,a", "11,b"]


def test_iso_date_timestamps(tmp_path):
  path = tmp_path / "data.csv"
  path.write_text("1,10,5,2005-09-06\n2,11,4,2005-09-07\n")
  frame = readers.read_frame(str(path))
  assert frame["timestamp"].tolist() == [_unix("2005-09-06"), _unix("2005-09-07")]


def test_gzip_and_zip_members(tmp_path):
  text = open(_fixture("ml-1m_ratings.dat"), "rb").read()
  with gzip.open(tmp_path / "ratings.dat.gz", "wb") as f:
    f.write(text)
  with zipfile.ZipFile(tmp_path / "ml-1m.zip", "w") as archive:
    archive.writestr("ml-1m/README", "readme")
    archive.writestr("ml-1m/ratings.dat", text)
  gz = read_interactions(str(tmp_path / "ratings.dat.gz"))
  member = readers.to_interactions(FORMATS["movielens_dat"](
      TextSource(str(tmp_path / "ml-1m.zip"), "ml-1m/ratings.dat")), "ml1m")
  assert len(gz) == len(member) == 9
  np.testing.assert_array_equal(gz.items, member.items)
  with pytest.raises(InputError, match="holds 2 files"):
    read_interactions(str(tmp_path / "ml-1m.zip"))


def test_ids_indexed_in_sorted_order_like_from_raw():
  data = read_interactions(_fixture("ml-100k_u.data"))
  users, items = np.loadtxt(_fixture("ml-100k_u.data"), dtype=np.int64, usecols=(0, 1)).T
  expected = type(data).from_raw(users, items)
  np.testing.assert_array_equal(data.users, expected.users)
  np.testing.assert_array_equal(data.item_ids, expected.item_ids)


@pytest.mark.parametrize("text,line,problem", [
    ("1,10,5,100\n1,11,4,101\n2,10,x,102\n", 3, "rating 'x' is not a number"),
    ("1,10,5,100\n\n1,11,4,101\n2,10,3,102\n2\n", 5, "expected at least 2 columns, got 1"),
    ("1,10,5,100\n1,11,4\n", 2, "expected 4 columns like line 1, got 3"),
    ("1,10,5,100\n1,11,4,101,7\n", 2, "expected 4 columns like line 1, got 5"),
    ("1,10,5,100\n1,,4,101\n", 2, "empty item id"),
    ("1,10,5,100\n1,11,4,soon\n", 2, "timestamp 'soon' is not a number"),
    ("1,10,5,2005-09-06\n1,11,4,1234\n", 2,
     "timestamp '1234' is not an ISO date like line 1's"),
    ("userId,movieId,rating,timestamp\n1,2,3.5,1\n1,3,4,2\n1,4,4,3\n1,5,4,4\n1,6,4,5\n"
     "1,7,bad,7\n", 7, "rating 'bad' is not a number"),
    ("1::10::5::100\n1::11::4::101\n2::10::x::102\n", 3, "rating 'x' is not a number"),
    ("1::10::5::100\n1::11::4\n", 2, "expected 4 columns like line 1, got 3"),
])
def test_malformed_lines_name_file_and_line(tmp_path, text, line, problem):
  path = tmp_path / "ratings.csv"
  path.write_text(text)
  with pytest.raises(InputError) as error:
    read_interactions(str(path))
  assert error.value.line == line
  assert str(error.value) == f"{path}:{line}: {problem}"


def test_malformed_line_in_a_large_file_is_found(tmp_path):
  lines = [f"{i % 97}\t{i % 89}\t{i % 5 + 1}\t{1000 + i}" for i in range(50_000)]
  lines[41_234] = "7\t8\t4.5.1\t9"
  path = tmp_path / "big.tsv.gz"
  with gzip.open(path, "wt") as f:
    f.write("\n".join(lines) + "\n")
  with pytest.raises(InputError, match=r"big.tsv.gz:41235: rating '4.5.1' is not a number"):
    read_interactions(str(path))


@pytest.mark.parametrize("text,line,problem", [
    ("1488844,3,2005-09-06\n", 1, "expected a '<movie id>:' line before the first rating"),
    ("1:\n1488844,3,2005-09-06\n822109,five,2005-05-13\n", 3, "rating 'five' is not a number"),
    ("1:\n1488844,3,2005-09-06\n2:\n822109,5,yesterday\n", 4, "date 'yesterday' is not YYYY-MM-DD"),
    ("1:\n1488844,3\n", 2, "expected 'user,rating,date' (3 columns), got 2"),
])
def test_netflix_errors(tmp_path, text, line, problem):
  path = tmp_path / "combined_data_1.txt"
  path.write_text(text)
  with pytest.raises(InputError) as error:
    readers.read_netflix(str(path))
  assert str(error.value) == f"{path}:{line}: {problem}"


def test_missing_empty_and_header_only_files(tmp_path):
  with pytest.raises(InputError, match="no such file"):
    read_interactions(str(tmp_path / "absent.csv"))
  (tmp_path / "empty.csv").write_text("\n\n")
  with pytest.raises(InputError, match="empty.csv: no interactions"):
    read_interactions(str(tmp_path / "empty.csv"))
  (tmp_path / "header.csv").write_text("userId,movieId,rating,timestamp\n")
  with pytest.raises(InputError, match="only a header"):
    read_interactions(str(tmp_path / "header.csv"))
