"""Consolidation strategies: pure functions from workers' answers to one label per item."""

from labeling.consolidation.base import ConsolidationStrategy, get_strategy, register_strategy
from labeling.consolidation.dawid_skene import DawidSkene, OneCoin
from labeling.consolidation.majority import MajorityVote

__all__ = [
    "ConsolidationStrategy",
    "DawidSkene",
    "MajorityVote",
    "OneCoin",
    "get_strategy",
    "register_strategy",
]
