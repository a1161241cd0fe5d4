"""Which metrics each protocol reports and which one selects the epoch or hyper-parameter."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Reporting:
  ks: tuple
  names: tuple
  selection: str

  def keys(self) -> list:
    return [f"{name}@{k}" for name in self.names for k in self.ks]


REPORTING = {
    # GuidedRec / NCF: HR and NDCG at 5, 10, 20 over 1 + 99 candidates.
    "loo_sampled": Reporting(ks=(5, 10, 20), names=("hr", "ndcg"), selection="ndcg@10"),
    # APR: HR and NDCG at 50 and 100 over all non-history items.
    "loo_full": Reporting(ks=(10, 20, 50, 100), names=("hr", "ndcg"), selection="ndcg@100"),
    # Mult-VAE / RaCT / CF-SFL: Recall@20, Recall@50, NDCG@100.
    "strong": Reporting(ks=(20, 50, 100), names=("recall", "ndcg"), selection="ndcg@100"),
    # A user's own test file, possibly several items per user.
    "given": Reporting(ks=(10, 20, 50, 100), names=("recall", "ndcg", "hr"),
                       selection="ndcg@20"),
}
