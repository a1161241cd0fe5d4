"""Recommendations from an exported SavedModel: requests in, top-K items out.

What the `recommend` binary does, with `tf.saved_model.load` only (nothing is
rebuilt, so any export of `tfrankcf.serving.export` works without the run):

* `read_requests(path)`: one user per line, `user_id<TAB>item,item,...` or
  just `item,item,...`; a bad line is an `InputError` naming file and line;
* `Recommender(saved_model_dir, item_names).recommend(requests, k)`: batches
  of padded histories through `serving_default` (or `top_k` when `k` is
  given), with the items' names from `item_names` (a names file read by
  `tfrankcf.serving.item_names`) or else from the export;
* `write_tsv`, `write_jsonl` and `table` render the results.

A request whose history holds no item the model knows gets the most popular
training items (`fallback`; their scores are training popularity counts, see
`tfrankcf.serving.export`). Input files are read before TensorFlow is
imported, so bad input fails fast.
"""

import dataclasses
import json
import os

from tfrankcf.errors import InputError
from tfrankcf.serving.item_names import ItemNames

BATCH_SIZE = 1000


@dataclasses.dataclass
class Request:
  """One user to recommend for.

  Attributes:
    history: raw item ids the user interacted with (excluded from the results).
    user: the user id as given (ID-based models: the training row index), or None.
    line: the request's line in the input file (None for the command line).
  """

  history: list
  user: str | None = None
  line: int | None = None


@dataclasses.dataclass
class Recommendations:
  """Top items of one request, best first (fewer than K when the catalogue runs out).

  Attributes:
    item_ids: raw item ids.
    scores: the model's scores, or for a `fallback` the items' training popularity.
    names: each item's name, "" without one.
    fallback: True when the history held no known item: the most popular items.
  """

  item_ids: list
  scores: list
  names: list = dataclasses.field(default_factory=list)
  fallback: bool = False


def parse_items(text: str) -> list:
  """Comma-separated item ids, blanks dropped."""
  return [item.strip() for item in text.split(",") if item.strip()]


def parse_request(text: str, path: str | None = None, line: int | None = None) -> Request:
  """`user_id<TAB>item,item,...` or `item,item,...`."""
  if text.count("\t") > 1:
    raise InputError(f"expected 'user_id<TAB>item,item,...' or 'item,item,...', got "
                     f"{text.count(chr(9)) + 1} tab-separated fields", path=path, line=line)
  if "\t" in text:
    user, items = text.split("\t")
    if not user.strip():
      raise InputError("empty user id before the tab", path=path, line=line)
    return Request(history=parse_items(items), user=user.strip(), line=line)
  return Request(history=parse_items(text), line=line)


def read_requests(path: str) -> list:
  """The requests of a file, one per non-blank line."""
  if not os.path.isfile(path):
    raise InputError("no such input file", path=path)
  requests = []
  with open(path, encoding="utf-8") as f:
    for number, text in enumerate(f, start=1):
      text = text.rstrip("\r\n")
      if text.strip():
        requests.append(parse_request(text, path, number))
  if not requests:
    raise InputError("no requests (the file is empty)", path=path)
  return requests


class Recommender:
  """A loaded SavedModel export and the users it can serve."""

  def __init__(self, saved_model_dir: str, item_names: ItemNames | None = None):
    """Loads the export; `item_names` (a names file) replace the export's own names."""
    if not os.path.isfile(os.path.join(saved_model_dir, "saved_model.pb")):
      raise InputError("no saved_model.pb: not a SavedModel directory", path=saved_model_dir)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._tf = tf
    self.loaded = tf.saved_model.load(saved_model_dir)
    self.serving_default = self.loaded.signatures["serving_default"]
    self.top_k = self.loaded.signatures["top_k"]
    self.uses_user_id = "user_id" in self.serving_default.structured_input_signature[1]
    self.num_users = int(self.loaded.num_users.numpy())
    catalogue = [item.decode() for item in self.loaded.item_ids.numpy()]
    self.item_ids = set(catalogue)
    self.names = {}  # raw item id -> name, for the items that have one
    if item_names is not None:
      self.names = dict(zip(catalogue, item_names.for_items(catalogue)))
    elif hasattr(self.loaded, "item_names"):  # exports before item names have none
      self.names = dict(zip(catalogue, (n.decode() for n in self.loaded.item_names.numpy())))
    self.names = {item: name for item, name in self.names.items() if name}

  def user_index(self, request: Request, path: str | None = None) -> int:
    """The training row of an ID-based model's request, checked."""
    where = dict(path=path if request.line is not None else None, line=request.line)
    if request.user is None:
      raise InputError("this model scores users by id: give 'user_id<TAB>items' "
                       "(--user on the command line)", **where)
    try:
      index = int(request.user)
    except ValueError:
      raise InputError(f"user id '{request.user}' is not an integer (the user's row in "
                       "the training matrix)", **where) from None
    if not 0 <= index < self.num_users:
      raise InputError(f"user id {index} is not a training row index "
                       f"(0..{self.num_users - 1})", **where)
    return index

  def unknown_items(self, request: Request) -> list:
    """History ids the model does not know (ignored by the model)."""
    return [item for item in request.history if item not in self.item_ids]

  def recommend(self, requests: list, k: int | None = None, path: str | None = None,
                batch_size: int = BATCH_SIZE) -> list:
    """`Recommendations` of each request; `k` None uses the export's default K."""
    tf = self._tf
    if k is not None and k < 1:
      raise InputError(f"k must be >= 1, got {k}")
    users = ([self.user_index(request, path) for request in requests]
             if self.uses_user_id else None)
    results = []
    for start in range(0, len(requests), batch_size):
      batch = requests[start:start + batch_size]
      width = max(1, max(len(request.history) for request in batch))
      history = [request.history + [""] * (width - len(request.history)) for request in batch]
      mask = [[True] * len(request.history) + [False] * (width - len(request.history))
              for request in batch]
      inputs = {"history": tf.constant(history, tf.string),
                "history_mask": tf.constant(mask, tf.bool)}
      if self.uses_user_id:
        inputs["user_id"] = tf.constant(users[start:start + batch_size], tf.int64)
      if k is None:
        outputs = self.serving_default(**inputs)
      else:
        outputs = self.top_k(k=tf.constant(k, tf.int32), **inputs)
      fallback = (outputs["fallback"].numpy() if "fallback" in outputs
                  else [False] * len(batch))
      for ids, scores, popular in zip(outputs["item_ids"].numpy(), outputs["scores"].numpy(),
                                      fallback):
        kept = [i for i, item in enumerate(ids) if item]
        items = [ids[i].decode() for i in kept]
        results.append(Recommendations(items, [float(scores[i]) for i in kept],
                                       [self.names.get(item, "") for item in items],
                                       bool(popular)))
    return results


def _names(result: Recommendations) -> list:
  return result.names or [""] * len(result.item_ids)


def _records(requests: list, results: list):
  for request, result in zip(requests, results):
    for rank, (item, score, name) in enumerate(
        zip(result.item_ids, result.scores, _names(result)), start=1):
      yield request, rank, item, score, name


def write_tsv(path: str, requests: list, results: list) -> None:
  """One row per recommended item: line, user, rank, item_id, score, name (with a header)."""
  with open(path, "w", encoding="utf-8") as f:
    f.write("line\tuser\trank\titem_id\tscore\tname\n")
    for request, rank, item, score, name in _records(requests, results):
      line = "" if request.line is None else request.line
      name = name.replace("\t", " ")
      f.write(f"{line}\t{request.user or ''}\t{rank}\t{item}\t{score:.6g}\t{name}\n")


def write_jsonl(path: str, requests: list, results: list) -> None:
  """One JSON object per request: line, user, item_ids, scores, names, fallback."""
  with open(path, "w", encoding="utf-8") as f:
    for request, result in zip(requests, results):
      f.write(json.dumps({"line": request.line, "user": request.user,
                          "item_ids": result.item_ids, "scores": result.scores,
                          "names": result.names, "fallback": result.fallback},
                         ensure_ascii=False) + "\n")


FALLBACK_NOTE = "no known item: the most popular training items, scored by their training users"


def table(requests: list, results: list, unknown: list | None = None) -> str:
  """A readable block per request: who, the history size, then rank, item, score and name."""
  blocks = []
  for position, (request, result) in enumerate(zip(requests, results)):
    who = f"user {request.user}" if request.user is not None else "(no user id)"
    if request.line is not None:
      who += f" (line {request.line})"
    note = f"history: {len(request.history)} items"
    if unknown and unknown[position]:
      note += f", {len(unknown[position])} unknown and ignored"
    if result.fallback:
      note += f"; {FALLBACK_NOTE}"
    names = _names(result)
    named = any(names)
    width = max([12] + [len(item) + 2 for item in result.item_ids])
    lines = [f"{who}  {note}",
             f"{'rank':>6}  {'item_id':<{width}}{'score':>12}" + ("  name" if named else "")]
    lines += [f"{rank:>6}  {item:<{width}}{score:>12.6g}" + (f"  {name}" if named else "")
              for rank, (item, score, name) in enumerate(
                  zip(result.item_ids, result.scores, names), start=1)]
    blocks.append("\n".join(lines))
  return "\n\n".join(blocks)
