"""The `Split` type every protocol returns and every method and evaluator consumes."""

import dataclasses
from typing import Optional

import numpy as np
import scipy.sparse as sp


@dataclasses.dataclass
class EvalSet:
  """The users evaluated in one part (validation or test) of a split.

  All matrices have one row per evaluated user and `num_items` columns.

  Attributes:
    user_index: int64 [U] row of each user in `Split.train` (its id for ID-based
      models), or -1 for users unseen in training (strong generalisation).
    inputs: csr [U, M] the history a model sees for the user: the training row
      (leave-one-out) or the fold-in items (strong generalisation).
    targets: csr [U, M] held-out items to retrieve (binary).
    exclude: csr [U, M] items removed from the ranking (scored -inf): the known
      interactions other than the targets.
    candidates: int64 [U, C] or None. When set, each user is ranked only among
      these items (sampled protocols; targets are among them); otherwise the
      whole catalogue minus `exclude` is ranked.
  """

  user_index: np.ndarray
  inputs: sp.csr_matrix
  targets: sp.csr_matrix
  exclude: sp.csr_matrix
  candidates: Optional[np.ndarray] = None

  @property
  def num_users(self) -> int:
    return self.inputs.shape[0]


@dataclasses.dataclass
class Split:
  """A train matrix plus validation and test `EvalSet`s over one item space.

  Attributes:
    train: csr [N, M] binary training interactions (users x items).
    valid: validation users, for model selection.
    test: test users, reported once at the selected epoch.
    protocol: protocol name (`loo_sampled`, `loo_full`, `strong`, `given`).
    item_ids: raw id of each item column.
    info: provenance: dataset, seed, options, counts; goes into results.json.
  """

  train: sp.csr_matrix
  valid: EvalSet
  test: EvalSet
  protocol: str
  item_ids: np.ndarray
  info: dict = dataclasses.field(default_factory=dict)

  @property
  def num_items(self) -> int:
    return self.train.shape[1]

  @property
  def num_users(self) -> int:
    return self.train.shape[0]
