"""A class-aware score for the threshold: the estimated chance a prediction is right given
its predicted class and its confidence.

One threshold on the raw softmax confidence ranks a shirt at 0.97 beside a trouser at 0.97,
though the model is right on far fewer shirts: the hard classes' errors enter the
auto-labels first and hold the bound back, and the easy classes wait behind them. The score
``sigmoid(w0 + w1 · logit(confidence) + a_class)`` ranks them apart.

It is fitted on predictions a model made on items it never trained on, against the human
labels those items got later, and never on the validation slice; so the score is fixed
before the slice is read and the threshold's test on the slice is exactly as sound as on the
raw confidence (any fixed ranking is). A poor fit only costs coverage. Pure numpy.
"""

from dataclasses import dataclass

import numpy as np

# Fewer out-of-sample predictions than this: the raw confidence ranks the items.
MIN_CALIBRATION_PAIRS = 30
# Ridge on the class offsets (pulls a class seen a few times to the shared curve) and, much
# lighter, on the shared intercept and slope.
CLASS_RIDGE = 1.0
SHARED_RIDGE = 1e-3
NEWTON_STEPS = 50
EPSILON = 1e-6


def _logit(confidence: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(confidence, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


@dataclass(frozen=True)
class ClassCalibration:
    """The fitted score: a shared intercept and slope on logit(confidence), one offset per
    predicted class, and how many predictions it was fitted on."""

    intercept: float
    slope: float
    offsets: tuple[float, ...]
    pairs: int

    def score(self, predicted: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """P(right | predicted class, confidence) for each item."""
        offsets = np.asarray(self.offsets)[np.asarray(predicted, dtype=np.int64)]
        linear = self.intercept + self.slope * _logit(confidence) + offsets
        return 1.0 / (1.0 + np.exp(-linear))


def class_calibration_fit(
    *,
    predicted: np.ndarray,
    confidence: np.ndarray,
    correct: np.ndarray,
    classes: int,
) -> ClassCalibration | None:
    """Fit the score by ridge logistic regression (Newton steps); None when there are fewer
    than ``MIN_CALIBRATION_PAIRS`` predictions, or all were right or all wrong (nothing to
    tell the classes apart by)."""
    predicted = np.asarray(predicted, dtype=np.int64)
    correct = np.asarray(correct, dtype=np.float64)
    if not len(predicted) == len(confidence) == len(correct):
        raise ValueError("predicted, confidence and correct must have the same length")
    if len(predicted) and (predicted.min() < 0 or predicted.max() >= classes):
        raise ValueError(f"predicted classes must lie in 0 … {classes - 1}")
    if len(predicted) < MIN_CALIBRATION_PAIRS or correct.min() == correct.max():
        return None
    features = np.zeros((len(predicted), 2 + classes))
    features[:, 0] = 1.0
    features[:, 1] = _logit(confidence)
    features[np.arange(len(predicted)), 2 + predicted] = 1.0
    ridge = np.diag([SHARED_RIDGE, SHARED_RIDGE] + [CLASS_RIDGE] * classes)
    weights = np.zeros(2 + classes)
    for _ in range(NEWTON_STEPS):
        chance = 1.0 / (1.0 + np.exp(-(features @ weights)))
        gradient = features.T @ (chance - correct) + ridge @ weights
        curvature = (features * (chance * (1 - chance))[:, None]).T @ features + ridge
        step = np.linalg.solve(curvature, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return ClassCalibration(
        intercept=float(weights[0]),
        slope=float(weights[1]),
        offsets=tuple(float(w) for w in weights[2:]),
        pairs=len(predicted),
    )
