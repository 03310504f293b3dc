"""Chunked action queue: merge predicted chunks, hand out one action per control tick."""

from runtime.queue.action_queue import ActionQueue, MergeReport
from runtime.queue.aggregation import AGGREGATE_FUNCTIONS, make_aggregator

__all__ = ["AGGREGATE_FUNCTIONS", "ActionQueue", "MergeReport", "make_aggregator"]
