"""Random order: every waiting item equally likely to go to a human next (the baseline that
active selection is measured against)."""

import zlib
from dataclasses import dataclass

import numpy as np

from active_learning.strategies.base import register_strategy


@dataclass(frozen=True)
class RandomOrder:
    key: str = "random"
    title: str = "Random order (no selection; a baseline)"
    ignores_probabilities: bool = True  # multi-label jobs too get a random order

    def uncertainty(self, probabilities: np.ndarray) -> np.ndarray:
        # Seeded by the probabilities themselves: repeatable for the same model and pool, and
        # a fresh order after every round (the model changed).
        probabilities = np.ascontiguousarray(probabilities, dtype=np.float64)
        seed = zlib.crc32(probabilities.tobytes())
        return np.random.default_rng(seed).random(len(probabilities))


RANDOM_ORDER = register_strategy(RandomOrder())
