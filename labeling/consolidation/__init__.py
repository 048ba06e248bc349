"""Consolidation strategies: pure functions from workers' answers to one label per item."""

from labeling.consolidation.base import ConsolidationStrategy, get_strategy, register_strategy
from labeling.consolidation.majority import MajorityVote

__all__ = ["ConsolidationStrategy", "MajorityVote", "get_strategy", "register_strategy"]
