"""Least-confidence sampling: the lower the top class's probability, the more uncertain."""

from dataclasses import dataclass

import numpy as np

from active_learning.strategies.base import register_strategy


@dataclass(frozen=True)
class LeastConfidence:
    key: str = "least_confidence"
    title: str = "Lowest probability of the likeliest class"

    def uncertainty(self, probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - np.asarray(probabilities, dtype=np.float64).max(axis=1)


LEAST_CONFIDENCE = register_strategy(LeastConfidence())
