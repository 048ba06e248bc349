"""The query-strategy interface: class probabilities in, one uncertainty score per item out."""

from typing import Protocol

import numpy as np


class QueryStrategy(Protocol):
    key: str
    title: str

    def uncertainty(self, probabilities: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] for an (items × classes) array; higher means ask a human first."""


_REGISTRY: dict[str, QueryStrategy] = {}


def register_strategy(strategy: QueryStrategy) -> QueryStrategy:
    _REGISTRY[strategy.key] = strategy
    return strategy


def get_strategy(key: str) -> QueryStrategy:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(
            f"unknown query strategy {key!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def strategy_choices() -> list[tuple[str, str]]:
    return [(s.key, s.title) for s in _REGISTRY.values()]
