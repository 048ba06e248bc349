"""The one small interface every consolidation strategy implements, and their registry."""

from typing import Protocol

import numpy as np

MISSING = -1


class ConsolidationStrategy(Protocol):
    """Consolidates single-label classification answers.

    ``votes`` is an ``(n_items, n_slots)`` integer array of class indices, ``MISSING`` (-1)
    where an item has fewer answers than slots; ``worker_ids`` has the same shape and says
    who gave each answer (strategies that model workers use it). Returns the chosen class
    per item and its confidence in [0, 1].
    """

    name: str

    def consolidate(
        self, votes: np.ndarray, n_classes: int, worker_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


_STRATEGIES: dict[str, ConsolidationStrategy] = {}


def register_strategy(strategy: ConsolidationStrategy) -> ConsolidationStrategy:
    _STRATEGIES[strategy.name] = strategy
    return strategy


def get_strategy(name: str) -> ConsolidationStrategy:
    try:
        return _STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown consolidation strategy {name!r}") from None
