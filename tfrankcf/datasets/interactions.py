"""The `Interactions` type: a user-item event log with contiguous integer ids."""

import dataclasses
from typing import Optional

import numpy as np
import scipy.sparse as sp


@dataclasses.dataclass(frozen=True)
class Interactions:
  """One row per (user, item) event, ids remapped to 0..n-1.

  Attributes:
    users: int64 [N] user index in 0..num_users-1.
    items: int64 [N] item index in 0..num_items-1.
    ratings: float32 [N] or None when the source has no rating column.
    timestamps: int64 [N] or None when the source has no time column.
    user_ids: raw user id of each user index (array of num_users strings/ints).
    item_ids: raw item id of each item index (array of num_items strings/ints).
    name: where the data came from (registry name or file path), for results.
  """

  users: np.ndarray
  items: np.ndarray
  ratings: Optional[np.ndarray]
  timestamps: Optional[np.ndarray]
  user_ids: np.ndarray
  item_ids: np.ndarray
  name: str = ""

  @property
  def num_users(self) -> int:
    return len(self.user_ids)

  @property
  def num_items(self) -> int:
    return len(self.item_ids)

  def __len__(self) -> int:
    return len(self.users)

  def to_csr(self, binary: bool = True) -> sp.csr_matrix:
    """users x items matrix; duplicate events collapse to 1 when `binary`."""
    values = np.ones(len(self), np.float32)
    matrix = sp.csr_matrix((values, (self.users, self.items)),
                           shape=(self.num_users, self.num_items))
    if binary:
      matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix

  @classmethod
  def from_raw(cls, raw_users, raw_items, ratings=None, timestamps=None,
               name: str = "") -> "Interactions":
    """Builds from raw id columns, assigning indices in sorted raw-id order."""
    user_ids, users = np.unique(np.asarray(raw_users), return_inverse=True)
    item_ids, items = np.unique(np.asarray(raw_items), return_inverse=True)
    return cls(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        ratings=None if ratings is None else np.asarray(ratings, np.float32),
        timestamps=(None if timestamps is None
                    else np.asarray(timestamps, np.int64)),
        user_ids=user_ids,
        item_ids=item_ids,
        name=name)
