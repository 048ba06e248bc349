"""The query-strategy interface: class probabilities in, one uncertainty score per item out."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class QueryContext:
    """What a strategy may read beside the probabilities: only strategies that set
    ``uses_context = True`` receive it, as ``uncertainty(probabilities, context)``."""

    batch_size: int  # human labels the next round waits for
    round_number: int  # the round that reorders the queue
    seed: int  # the job's id: with the round, a repeatable draw


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
