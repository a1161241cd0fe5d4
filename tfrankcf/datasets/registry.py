"""The named datasets: where each release comes from, how to check and read it.

Every `DatasetSpec` lists the files to fetch (official URLs and digests, see
`download.RemoteFile`), the file or zip member to read with which
`readers.FORMATS` parser, an optional fixed test split, the defaults of the
`strong` protocol (rating threshold, filters, the papers' held-out user
count) and the citation and usage terms.

Checksums: MovieLens archives carry GroupLens' published MD5s (the `.zip.md5`
sidecars) plus SHA-256s computed by third parties. The NCF and APR files are
pinned by their git blob ids in the authors' repositories at a fixed commit
(the raw URL names that commit), plus SHA-256s computed here for the files
small enough to read. Netflix (Kaggle, behind a login), the MSD taste profile,
SNAP's Gowalla check-ins and the MovieTweetings snapshot have no published
digest that could be established: they are trusted on first use (see
`download`), as each spec's `checksum_note` says.
"""

import dataclasses

from tfrankcf.datasets.download import RemoteFile


@dataclasses.dataclass(frozen=True)
class Part:
  """A file to read: a fetched file, or one member of a fetched zip archive."""

  remote: RemoteFile
  member: str | None = None


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """A named dataset.

  Attributes:
    name: the registry name (`--dataset=<name>`).
    description: one line on what it is.
    homepage: where the release is described.
    format: the `readers.FORMATS` parser of its files.
    train: the files read (and concatenated) as the interactions.
    test: the files of a fixed test split shipped with the release, if any;
      read with the same parser and indexed with the training id maps.
    positive_threshold: `strong` protocol: ratings >= this are positives
      (None: every row is, e.g. MSD plays, implicit releases).
    strong_options: `strong` filters (`min_user_items`, `min_item_users`).
    heldout_users: `strong` validation (and test) users in the papers.
    citation: what to cite.
    licence: the usage terms, as the provider states them.
    checksum_note: where the digests come from, or why there are none.
    embedded: the package-relative path of a copy shipped with tfrankcf.
  """

  name: str
  description: str
  homepage: str
  format: str
  train: tuple[Part, ...]
  citation: str
  licence: str
  checksum_note: str
  test: tuple[Part, ...] = ()
  positive_threshold: float | None = None
  strong_options: dict = dataclasses.field(default_factory=dict)
  heldout_users: int | None = None
  embedded: str | None = None

  @property
  def remotes(self) -> tuple[RemoteFile, ...]:
    """The distinct files to fetch."""
    seen = {}
    for part in self.train + self.test:
      seen.setdefault(part.remote.filename, part.remote)
    return tuple(seen.values())


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
_MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
    "History and Context. ACM Transactions on Interactive Intelligent Systems "
    "(TiiS) 5, 4, Article 19. https://doi.org/10.1145/2827872")
_MOVIELENS_LICENCE = (
    "GroupLens usage licence (the release README): research use only; do not "
    "state or imply endorsement by the University of Minnesota or GroupLens; "
    "acknowledge the data set in publications; do not redistribute the data "
    "without separate permission; no commercial or revenue-bearing use without "
    "permission of a GroupLens faculty member.")
_MOVIELENS_CHECKSUMS = (
    "MD5: GroupLens' published <archive>.zip.md5 sidecar; SHA-256: computed by "
    "third parties (a second pin).")

# NCF (pinterest-20) and APR (yelp) releases at fixed commits. git_sha1 is the
# blob id in that commit's tree; sha256/md5 were computed from the blobs.
_NCF_COMMIT = "4aab159e81c44b062c091bdaed0ab54ac632371f"
_NCF_RAW = ("https://raw.githubusercontent.com/hexiangnan/neural_collaborative_filtering/"
            f"{_NCF_COMMIT}/Data/")
_APR_COMMIT = "54f708f9fe4338cdb5ffe82205e69327bf22466a"
_APR_RAW = ("https://raw.githubusercontent.com/hexiangnan/adversarial_personalized_ranking/"
            f"{_APR_COMMIT}/Data/")
_NCF_CITATION = (
    "Xiangnan He, Lizi Liao, Hanwang Zhang, Liqiang Nie, Xia Hu and Tat-Seng "
    "Chua. 2017. Neural Collaborative Filtering. In WWW 2017.")
_APR_CITATION = (
    "Xiangnan He, Zhankui He, Xiaoyu Du and Tat-Seng Chua. 2018. Adversarial "
    "Personalized Ranking for Recommendation. In SIGIR 2018.")
_GIT_CHECKSUMS = (
    "git blob ids from the repository tree at the pinned commit (the raw URL "
    "names the same commit); sha256/md5 computed here from the blobs where the "
    "blob could be read (the test files).")

_MOVIETWEETINGS_COMMIT = "a645287b5856975583467dac6432fb65f5386427"

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="ml100k",
        description="MovieLens 100K: 100,000 ratings (1-5) by 943 users on 1,682 movies.",
        homepage="https://grouplens.org/datasets/movielens/100k/",
        format="ml100k_udata",
        train=(Part(RemoteFile(
            "ml-100k.zip", urls=(_GROUPLENS + "ml-100k.zip",),
            md5="0e33842e24a9c977be4e0107933c0723",
            sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
                    member="ml-100k/u.data"),),
        positive_threshold=4.0,
        citation=_MOVIELENS_CITATION,
        licence=_MOVIELENS_LICENCE,
        checksum_note=_MOVIELENS_CHECKSUMS + " The embedded copy is u.data unmodified "
        "(md5 6e47046882bad158b0efbb84cd5cb987), gzip-compressed.",
        embedded="data/ml100k/u.data.gz"),
    DatasetSpec(
        name="ml1m",
        description="MovieLens 1M: 1,000,209 ratings (1-5) by 6,040 users on 3,706 movies.",
        homepage="https://grouplens.org/datasets/movielens/1m/",
        format="movielens_dat",
        train=(Part(RemoteFile(
            "ml-1m.zip", urls=(_GROUPLENS + "ml-1m.zip",),
            md5="c4d9eecfca2ab87c1945afe126590906",
            sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
                    member="ml-1m/ratings.dat"),),
        # `strong`: the Mult-VAE preprocessing (notes/originals.md 1.1, as for ML-20M):
        # rating > 3.5, users with >= 5 positives, no item filter; 600 validation and 600
        # test users of the 6,034 kept, as the ML-1M Mult-VAE split of docs/reproductions.md.
        positive_threshold=4.0,
        strong_options={"min_user_items": 5, "min_item_users": 0},
        heldout_users=600,
        citation=_MOVIELENS_CITATION,
        licence=_MOVIELENS_LICENCE,
        checksum_note=_MOVIELENS_CHECKSUMS),
    DatasetSpec(
        name="ml20m",
        description="MovieLens 20M: 20,000,263 ratings (0.5-5) by 138,493 users.",
        homepage="https://grouplens.org/datasets/movielens/20m/",
        format="movielens_csv",
        train=(Part(RemoteFile(
            "ml-20m.zip", urls=(_GROUPLENS + "ml-20m.zip",),
            md5="cd245b17a1ae2cc31bb14903e1204af3",
            sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3"),
                    member="ml-20m/ratings.csv"),),
        positive_threshold=4.0,  # Mult-VAE: rating > 3.5
        strong_options={"min_user_items": 5},
        heldout_users=10_000,
        citation=_MOVIELENS_CITATION,
        licence=_MOVIELENS_LICENCE,
        checksum_note=_MOVIELENS_CHECKSUMS),
    DatasetSpec(
        name="netflix",
        description="Netflix Prize training data: about 100M ratings (1-5), 480,189 users, "
                    "17,770 movies (combined_data_1..4.txt).",
        homepage="https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data",
        format="netflix_combined",
        train=tuple(Part(RemoteFile(
            "netflix-prize-data.zip",
            manual=("Netflix withdrew the Prize data; its de facto source is Kaggle and "
                    "needs a Kaggle account: run 'kaggle datasets download -d "
                    "netflix-inc/netflix-prize-data' (or download it from "
                    "https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data, "
                    "which saves archive.zip) and rename the archive to "
                    "netflix-prize-data.zip")),
                         member=f"combined_data_{index}.txt") for index in range(1, 5)),
        positive_threshold=4.0,
        strong_options={"min_user_items": 5},
        heldout_users=40_000,
        citation=("James Bennett and Stan Lanning. 2007. The Netflix Prize. In KDD Cup "
                  "and Workshop 2007."),
        licence=("Netflix Prize usage licence (the release README): research use only; "
                 "no implied endorsement by Netflix; acknowledge the data set in "
                 "publications; no redistribution without separate permission; no "
                 "commercial use without Netflix's permission."),
        checksum_note=("No published checksum (Kaggle serves the archive behind a login): "
                       "trust on first use, the sha256 of the first copy placed in the "
                       "cache is recorded and later uses are checked against it.")),
    DatasetSpec(
        name="msd",
        description="Million Song Dataset, Echo Nest taste profile: about 48M "
                    "(user, song, play count) triplets of about 1M users.",
        homepage="http://millionsongdataset.com/tasteprofile/",
        format="msd_triplets",
        train=(Part(RemoteFile(
            "train_triplets.txt.zip",
            urls=("http://millionsongdataset.com/sites/default/files/challenge/"
                  "train_triplets.txt.zip",
                  "http://labrosa.ee.columbia.edu/millionsong/sites/default/files/"
                  "challenge/train_triplets.txt.zip")),
                    member="train_triplets.txt"),),
        positive_threshold=None,  # any play
        strong_options={"min_user_items": 20, "min_item_users": 200},
        heldout_users=50_000,
        citation=("Thierry Bertin-Mahieux, Daniel P.W. Ellis, Brian Whitman and Paul "
                  "Lamere. 2011. The Million Song Dataset. In ISMIR 2011. (Taste profile "
                  "subset by The Echo Nest.)"),
        licence="See the terms on http://millionsongdataset.com/tasteprofile/.",
        checksum_note=("No published checksum for train_triplets.txt.zip: trust on first "
                       "use (the first copy's sha256 is recorded and later uses are "
                       "checked against it).")),
    DatasetSpec(
        name="pinterest",
        description="Pinterest pinterest-20 as released with NCF: implicit, 55,187 users, "
                    "leave-one-out test file (one held-out pin per user).",
        homepage="https://github.com/hexiangnan/neural_collaborative_filtering",
        format="ncf_rating",
        train=(Part(RemoteFile(
            "pinterest-20.train.rating", urls=(_NCF_RAW + "pinterest-20.train.rating",),
            git_sha1="99813f8ed7486c36fa0f405e3f400db5d6fed0be")),),
        test=(Part(RemoteFile(
            "pinterest-20.test.rating", urls=(_NCF_RAW + "pinterest-20.test.rating",),
            git_sha1="87fdbd13bced61c51f2842e2a667e83b9b0084e3",
            md5="c00e591ef5891a1c23453cd799141d06",
            sha256="3a8a8f7eb8e21cc5928b8259dd2c265269ecfa219d92ba829249956aa293d732")),),
        citation=(_NCF_CITATION + " Data: Xue Geng, Hanwang Zhang, Jingwen Bian and "
                  "Tat-Seng Chua. 2015. Learning Image and User Features for "
                  "Recommendation in Social Networks. In ICCV 2015."),
        licence=("Distributed in the NCF repository (Apache License 2.0, copyright the "
                 "NCF authors); cite the NCF and ICCV 2015 papers."),
        checksum_note=_GIT_CHECKSUMS),
    DatasetSpec(
        name="yelp",
        description="Yelp as released with APR: 25,677 users, ratings 1-5 with "
                    "timestamps, each user's latest interaction in the test file.",
        homepage="https://github.com/hexiangnan/adversarial_personalized_ranking",
        format="ncf_rating",
        train=(Part(RemoteFile(
            "yelp.train.rating", urls=(_APR_RAW + "yelp.train.rating",),
            git_sha1="b812277d9adc8391e0b4cdc6d8d5af551d554b0c")),),
        test=(Part(RemoteFile(
            "yelp.test.rating", urls=(_APR_RAW + "yelp.test.rating",),
            git_sha1="65eb8ca2f0ba7db79ee0da012b608eeab93d54b6",
            md5="642bfd34001e15e92b0c7d2144a0d659",
            sha256="0680223ab00b2fb5694ab5c45f349ed23ddb2f60ed83d7eb1727861cdd4ff5f8")),),
        citation=(_APR_CITATION + " Data: the Yelp Dataset Challenge "
                  "(https://www.yelp.com/dataset)."),
        licence=("Preprocessed by the APR authors from the Yelp Dataset, whose terms of "
                 "use (https://www.yelp.com/dataset) restrict it to non-commercial "
                 "research and education."),
        checksum_note=_GIT_CHECKSUMS),
    DatasetSpec(
        name="gowalla",
        description="Gowalla check-ins from SNAP (6,442,890 check-ins; "
                    "items are locations, timestamps from the check-in time). The APR "
                    "authors did not ship their Gowalla split: this is the raw source "
                    "(APR filtered items >= 10 and users >= 2 interactions and merged "
                    "repeated check-ins).",
        homepage="https://snap.stanford.edu/data/loc-gowalla.html",
        format="gowalla_checkins",
        train=(Part(RemoteFile(
            "loc-gowalla_totalCheckins.txt.gz",
            urls=("https://snap.stanford.edu/data/loc-gowalla_totalCheckins.txt.gz",))),),
        citation=("Eunjoon Cho, Seth A. Myers and Jure Leskovec. 2011. Friendship and "
                  "Mobility: User Movement in Location-Based Social Networks. In KDD "
                  "2011. " + _APR_CITATION),
        licence="SNAP dataset; cite the KDD 2011 paper (https://snap.stanford.edu/data/).",
        checksum_note=("SNAP publishes no checksum: trust on first use (the first copy's "
                       "sha256 is recorded and later uses are checked against it). A "
                       "third-party README lists md5 15bd6d99b85ee4b48fa980082286d5a2 "
                       "without saying whether of the .gz or the decompressed text, so "
                       "it is not used as a pin.")),
    DatasetSpec(
        name="movietweetings",
        description="MovieTweetings 50K snapshot: 50,000 ratings (0-10) collected from "
                    "Twitter, as in GuidedRec (Table 1).",
        homepage="https://github.com/sidooms/MovieTweetings",
        format="movielens_dat",
        train=(Part(RemoteFile(
            "movietweetings-50K-ratings.dat",
            urls=(f"https://raw.githubusercontent.com/sidooms/MovieTweetings/"
                  f"{_MOVIETWEETINGS_COMMIT}/snapshots/50K/ratings.dat",))),),
        positive_threshold=None,  # GuidedRec: every rating is an interaction
        citation=("Simon Dooms, Toon De Pessemier and Luc Martens. 2013. MovieTweetings: "
                  "a Movie Rating Dataset Collected From Twitter. In CrowdRec Workshop "
                  "at RecSys 2013."),
        licence="See https://github.com/sidooms/MovieTweetings (cite the CrowdRec 2013 paper).",
        checksum_note=(f"The URL pins commit {_MOVIETWEETINGS_COMMIT} of the repository "
                       "(latest/ changes daily; the frozen snapshots/50K is used), but no "
                       "digest of the file could be computed offline: trust on first use "
                       "(the first copy's sha256 is recorded and later uses are checked "
                       "against it).")),
)

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in SPECS}
