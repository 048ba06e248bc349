"""The learner interface every model kind shares, and the registry that picks one per job."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

# Called by long training loops between steps; raises to abort (the lease was lost).
Heartbeat = Callable[[], None]


class Learner(Protocol):
    kind: str
    suffix: str  # the artifact file's extension

    def fit(self, inputs: Any, targets: np.ndarray, classes: int, heartbeat: Heartbeat) -> None:
        """Train on ``inputs`` (what ``features`` returned) and class indices ``targets``."""

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """An (items × classes) array of probabilities."""

    def save(self, path: Path) -> None: ...


def no_heartbeat() -> None:
    return None
