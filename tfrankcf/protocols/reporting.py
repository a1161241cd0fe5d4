"""Which metrics each protocol reports and which one selects the epoch or hyper-parameter.

Where Recall is reported it is reported twice: `recall@k` divides the hits by
min(k, |held-out|) (Mult-VAE, RaCT) and `recall_full@k` by |held-out| (LightGCN,
NGCF, RecBole), so a table can be compared with either family of papers.
"""

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
    "strong": Reporting(ks=(20, 50, 100), names=("recall", "recall_full", "ndcg"),
                        selection="ndcg@100"),
    # A user's own test file, possibly several items per user (LightGCN / NGCF: Recall@20
    # over |held-out|, NDCG@20).
    "given": Reporting(ks=(10, 20, 50, 100), names=("recall", "recall_full", "ndcg", "hr"),
                       selection="ndcg@20"),
}
