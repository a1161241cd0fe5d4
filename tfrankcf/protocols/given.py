"""`given`: the user's own train and test files, ranked over the full catalogue.

The test part is the test file's items, ranked against every item outside the
user's training row. For model selection the latest training interaction of
every user with at least two training items is held out as the validation
item (leave-one-out inside the training file), so the test file is never used
to choose an epoch.
"""

import numpy as np
import scipy.sparse as sp

from tfrankcf.datasets.interactions import Interactions
from tfrankcf.errors import InputError
from tfrankcf.protocols.leave_one_out import _csr, _latest_positions
from tfrankcf.protocols.split import EvalSet, Split


def given(train_data: Interactions, test_data: Interactions | None, seed: int) -> Split:
  """Split from a training file and a test file sharing one id space."""
  if test_data is None:
    raise InputError("protocol 'given' needs a test split: pass --test_file "
                     "(or use a dataset that ships one)", path=train_data.name)
  shape = (train_data.num_users, train_data.num_items)
  users, items, counts, from_end = _latest_positions(train_data)
  valid_event = (counts[users] >= 2) & (from_end == 0)
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
            "valid_users": int(len(valid_users)),
            "test_users": int(len(test_users))})
