"""How the fit loop evaluates a model: the reporting's metrics on the split's users."""

import dataclasses

from tfrankcf.metrics import EvalResult, evaluate
from tfrankcf.protocols.reporting import Reporting
from tfrankcf.protocols.split import Split


@dataclasses.dataclass(frozen=True)
class Evaluator:
  """Evaluates on the validation users (which choose the epoch) and the test users.

  Attributes:
    split: the run's split.
    reporting: which metrics to compute and which one (`selection`) selects the epoch.
    batch_size: users scored at a time.
  """

  split: Split
  reporting: Reporting
  batch_size: int = 1000

  @property
  def selection(self) -> str:
    """The validation metric that selects the epoch (e.g. "ndcg@100")."""
    return self.reporting.selection

  def valid(self, model) -> EvalResult:
    return self._evaluate(model, self.split.valid)

  def both(self, model) -> tuple[EvalResult, EvalResult]:
    """(validation, test) results of `model` as it is now."""
    return self.valid(model), self._evaluate(model, self.split.test)

  def _evaluate(self, model, eval_set) -> EvalResult:
    return evaluate(model, eval_set, ks=self.reporting.ks, metric_names=self.reporting.names,
                    batch_size=self.batch_size)
