"""`given`: the user's own train and test files, ranked over the full catalogue.

The test part is the test file's items, ranked against every item outside the
user's training row. For model selection one training item of every user with
at least two distinct training items is held out as the validation item, so
the test file is never used to choose an epoch:

* with timestamps, the user's latest training item (leave-latest-out);
* without (or with one time for every row), a random one of the user's
  training items, drawn with the split seed. The file order carries no time:
  the public train/test releases of LightGCN/NGCF are sorted by item id, so
  "the last line" would always be the user's highest item id, a rare item,
  and validation would follow almost no signal.

`info["validation_item"]` records the rule ("latest" or "random").
"""

import numpy as np

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.leave_one_out import _csr, _latest_positions
from tfrankcf.protocols.split import EvalSet, Split

VALIDATION_RULES = {
    "latest": "each user's latest training item (timestamps)",
    "random": "a random training item per user, drawn with the split seed (no timestamps)",
}


def _validation_events(train_data: Interactions, seed: int):
  """(users, items, is-validation-event, rule) over the deduplicated training events."""
  users, items, counts, from_end = _latest_positions(train_data)
  eligible = counts[users] >= 2
  times = train_data.timestamps
  if times is not None and len(times) and times.min() < times.max():
    return users, items, eligible & (from_end == 0), "latest"
  # One position per user, uniform over the user's distinct items (users in index order).
  picked = np.random.default_rng(seed).integers(0, np.maximum(counts, 1))
  from_start = counts[users] - 1 - from_end
  return users, items, eligible & (from_start == picked[users]), "random"


def given(train_data: Interactions, test_data: Interactions | None, seed: int) -> Split:
  """Split from a training file and a test file sharing one id space."""
  if test_data is None:
    raise InputError("protocol 'given' needs a test split: pass --test_file "
                     "(or use a dataset that ships one)", path=train_data.name)
  shape = (train_data.num_users, train_data.num_items)
  users, items, valid_event, rule = _validation_events(train_data, seed)
  train = _csr(users[~valid_event], items[~valid_event], shape)
  full_train = _csr(users, items, shape)

  valid_users = users[valid_event]
  valid_targets = _csr(np.arange(len(valid_users)), items[valid_event],
                       (len(valid_users), shape[1]))
  valid_inputs = train[valid_users]

  test_matrix = _csr(test_data.users, test_data.items, shape)
  test_matrix = (test_matrix - test_matrix.multiply(full_train)).tocsr()
  test_matrix.eliminate_zeros()
  test_users = np.flatnonzero(np.diff(test_matrix.indptr) > 0)
  if len(test_users) == 0:
    raise InputError("the test split has no (user, item) pair outside the "
                     "training data", path=test_data.name)
  test_inputs = full_train[test_users]
  return Split(
      train=train,
      valid=EvalSet(user_index=valid_users.astype(np.int64), inputs=valid_inputs,
                    targets=valid_targets, exclude=valid_inputs),
      test=EvalSet(user_index=test_users.astype(np.int64), inputs=test_inputs,
                   targets=test_matrix[test_users], exclude=test_inputs),
      protocol="given", item_ids=train_data.item_ids,
      info={"protocol": "given", "seed": int(seed),
            "users": int(shape[0]), "items": int(shape[1]),
            "train_interactions": int(train.nnz),
            "validation_item": rule,
            "valid_users": int(len(valid_users)),
            "test_users": int(len(test_users))})
