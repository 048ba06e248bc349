"""Entropy sampling: the flatter the predicted distribution, the more uncertain."""

from dataclasses import dataclass

import numpy as np

from active_learning.strategies.base import register_strategy


@dataclass(frozen=True)
class Entropy:
    key: str = "entropy"
    title: str = "Highest entropy of the predicted classes"

    def uncertainty(self, probabilities: np.ndarray) -> np.ndarray:
        probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
        classes = probabilities.shape[1]
        if classes < 2:
            return np.zeros(len(probabilities))
        return -(probabilities * np.log(probabilities)).sum(axis=1) / np.log(classes)


ENTROPY = register_strategy(Entropy())
