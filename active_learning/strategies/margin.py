"""Margin sampling: the smaller the gap between the two likeliest classes, the more uncertain."""

from dataclasses import dataclass

import numpy as np

from active_learning.strategies.base import register_strategy


@dataclass(frozen=True)
class Margin:
    key: str = "margin"
    title: str = "Smallest margin between the two likeliest classes"

    def uncertainty(self, probabilities: np.ndarray) -> np.ndarray:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape[1] < 2:
            return np.zeros(len(probabilities))
        top_two = np.partition(probabilities, -2, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])


MARGIN = register_strategy(Margin())
