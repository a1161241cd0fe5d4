"""Ranking metrics (numpy and in-graph), the batched evaluator and significance tests."""

from tfrankcf.metrics.evaluator import EvalResult, evaluate
from tfrankcf.metrics.ranking import (METRIC_NAMES, hit_rate_at_k, ndcg_at_k, rank_metrics,
                                      recall_at_k, recall_full_at_k)
from tfrankcf.metrics.significance import paired_over_seeds, paired_test

__all__ = ["EvalResult", "evaluate", "METRIC_NAMES", "rank_metrics", "ndcg_at_k",
           "recall_at_k", "recall_full_at_k", "hit_rate_at_k", "paired_test",
           "paired_over_seeds"]
