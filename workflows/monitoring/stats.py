"""The statistics of model-quality monitoring: pure Python, no Django, no ORM.

- Per-window accuracy with a Wilson score interval (coverage holds at its stated level for a
  window of any size, unlike the normal approximation near 0 or 1).
- Per-label precision, recall and the confusion matrix; calibration by confidence bins.
- Drift detectors that stay valid while the stream is watched continuously: CUSUMs of
  e-values (Shin, Ramdas & Rinaldo 2023, "E-detectors"; Page's CUSUM with Lorden's bound).
  Each audited label multiplies an e-value whose mean is at most 1 while the model is at
  least as good as the null level; the detector fires when the log of the best product over
  any recent stretch reaches ``h``. Whatever the stream's length and however often it is
  looked at, the mean number of labels before a false alarm is at least ``exp(h)``
  (Lorden 1971), so ``h = ln(N)`` states the false-alarm rate "at most one per N labels".
- An anytime-valid confidence sequence for a mean of [0, 1] outcomes (the normal-mixture
  boundary of Howard, Ramdas, McAuliffe & Sekhon 2021), for the bound an alert reports.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
Z_95 = 1.959963984540054
CALIBRATION_BINS = 10
# Intrinsic time (in variance units) where the confidence sequence is tightest: about 500
# outcomes of variance 1/4.
CS_RHO = 125.0


def window_start(moment: datetime, window: str) -> datetime:
    """The start of the ``window`` (hour, day or ISO week from Monday, UTC) holding ``moment``."""
    moment = moment.astimezone(UTC)
    if window == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return day
    if window == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"window must be one of {', '.join(WINDOWS)}")


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) with no observation."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def cs_radius(n: int, alpha: float = 0.05, rho: float = CS_RHO) -> float:
    """Half-width of a time-uniform confidence sequence for the mean of n outcomes in [0, 1]
    (two-sided normal mixture, variance proxy 1/4): the true mean stays inside at every n at
    once with probability at least 1 - alpha."""
    if n <= 0:
        return 1.0
    v = n / 4
    return math.sqrt((v + rho) * math.log((v + rho) / (rho * alpha * alpha))) / n


@dataclass(frozen=True)
class Outcome:
    """One audited prediction: what the model said, what people said, and when it was made."""

    predicted_at: datetime
    predicted: str
    human: str
    confidence: float | None = None

    @property
    def correct(self) -> bool:
        return self.predicted == self.human


@dataclass
class WindowEstimate:
    start: datetime
    labels: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labels if self.labels else None

    def as_dict(self) -> dict:
        low, high = wilson(self.correct, self.labels)
        return {
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "labels": self.labels,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "low": low if self.labels else None,
            "high": high if self.labels else None,
        }


def windows_of(outcomes: Iterable[Outcome], window: str) -> list[WindowEstimate]:
    """Accuracy per window of prediction time (a late label counts where its prediction was)."""
    buckets: dict[datetime, WindowEstimate] = {}
    for outcome in outcomes:
        start = window_start(outcome.predicted_at, window)
        bucket = buckets.setdefault(start, WindowEstimate(start, 0, 0))
        bucket.labels += 1
        bucket.correct += outcome.correct
    return [buckets[start] for start in sorted(buckets)]


def confusion(outcomes: Iterable[Outcome], labels: Sequence[str]) -> dict:
    """The confusion matrix (rows: people's label, columns: the model's), per-label precision
    and recall, and the most confused pairs (people said, model said, count)."""
    known = list(labels)
    index = {label: position for position, label in enumerate(known)}
    pairs: Counter[tuple[str, str]] = Counter()
    for outcome in outcomes:
        for label in (outcome.human, outcome.predicted):
            if label not in index:
                index[label] = len(known)
                known.append(label)
        pairs[(outcome.human, outcome.predicted)] += 1
    matrix = [[pairs[(human, model)] for model in known] for human in known]
    per_label = {}
    for position, label in enumerate(known):
        true_positive = matrix[position][position]
        predicted = sum(row[position] for row in matrix)
        actual = sum(matrix[position])
        per_label[label] = {
            "precision": true_positive / predicted if predicted else None,
            "recall": true_positive / actual if actual else None,
            "predicted": predicted,
            "actual": actual,
        }
    return {
        "labels": known,
        "matrix": matrix,
        "per_label": per_label,
        "most_confused": most_confused(pairs),
    }


def most_confused(pairs: Counter, top: int = 3) -> list[dict]:
    wrong = [(count, human, model) for (human, model), count in pairs.items() if human != model]
    wrong.sort(key=lambda row: (-row[0], row[1], row[2]))
    return [{"human": human, "model": model, "count": count} for count, human, model in wrong[:top]]


def calibration(outcomes: Iterable[Outcome], bins: int = CALIBRATION_BINS) -> dict:
    """Stated confidence against observed accuracy in equal-width bins, and the gap (mean
    confidence minus accuracy: positive when the model is over-confident) and the ECE."""
    counts = [0] * bins
    confidence_sums = [0.0] * bins
    correct_sums = [0] * bins
    for outcome in outcomes:
        if outcome.confidence is None:
            continue
        position = min(bins - 1, int(outcome.confidence * bins))
        counts[position] += 1
        confidence_sums[position] += outcome.confidence
        correct_sums[position] += outcome.correct
    total = sum(counts)
    rows = []
    for position in range(bins):
        n = counts[position]
        low, high = wilson(correct_sums[position], n)
        rows.append(
            {
                "from": position / bins,
                "to": (position + 1) / bins,
                "labels": n,
                "confidence": confidence_sums[position] / n if n else None,
                "accuracy": correct_sums[position] / n if n else None,
                "low": low if n else None,
                "high": high if n else None,
            }
        )
    gap = (sum(confidence_sums) - sum(correct_sums)) / total if total else None
    ece = (
        sum(abs(confidence_sums[i] - correct_sums[i]) for i in range(bins)) / total
        if total
        else None
    )
    return {"bins": rows, "labels": total, "gap": gap, "ece": ece}


@dataclass(frozen=True)
class Episode:
    """A detector's alarm: from the label that fired it until the one that cleared it."""

    started_at_label: int  # where the stretch of evidence begins (the change-point estimate)
    fired_at_label: int
    cleared_at_label: int | None
    estimate: float  # the mean of the observed statistic over the stretch
    bound: float  # its anytime-valid bound (upper for accuracy, lower for the gap)
    labels: int


@dataclass
class Detection:
    episodes: list[Episode] = field(default_factory=list)
    statistic: float = 0.0  # the current CUSUM (or recovery) statistic
    alarmed: bool = False

    @property
    def open_episode(self) -> Episode | None:
        if self.episodes and self.episodes[-1].cleared_at_label is None:
            return self.episodes[-1]
        return None


def threshold_for(false_alarm_labels: int) -> float:
    """The CUSUM threshold h whose mean time to a false alarm is at least this many labels."""
    return math.log(max(2, false_alarm_labels))


def _cusum(
    values: Sequence[float],
    up,  # log e-value of one value against the null (evidence of decay)
    down,  # log e-value of one value against the alternative (evidence of recovery)
    h: float,
    summary,  # (values of the stretch) -> (estimate, bound)
) -> Detection:
    result = Detection()
    statistic = 0.0
    start = 0
    alarmed = False
    for position, value in enumerate(values):
        if not alarmed:
            if statistic <= 0:
                statistic, start = 0.0, position
            statistic = max(0.0, statistic) + up(value)
            if statistic >= h:
                estimate, bound = summary(values[start : position + 1])
                result.episodes.append(
                    Episode(start, position, None, estimate, bound, position + 1 - start)
                )
                alarmed, statistic = True, 0.0
        else:
            statistic = max(0.0, statistic + down(value))
            if statistic >= h:
                result.episodes[-1] = Episode(
                    **{**result.episodes[-1].__dict__, "cleared_at_label": position}
                )
                alarmed, statistic = False, 0.0
    result.statistic = statistic
    result.alarmed = alarmed
    return result


def accuracy_detector(
    correct: Sequence[bool], *, null_accuracy: float, alternative_accuracy: float, h: float
) -> Detection:
    """Bernoulli CUSUM: fires when the evidence says accuracy fell below ``null_accuracy``
    (tuned to see ``alternative_accuracy`` fastest); clears by the mirror CUSUM once the
    evidence says it is back at ``null_accuracy``. The likelihood ratio of the alternative
    to the null is an e-value for any accuracy at or above the null level."""
    p0 = min(max(null_accuracy, 1e-6), 1 - 1e-6)
    p1 = min(max(alternative_accuracy, 1e-6), p0 - 1e-6)
    right, wrong = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))

    def summary(stretch: Sequence[float]) -> tuple[float, float]:
        n = len(stretch)
        mean = sum(stretch) / n
        return mean, min(1.0, mean + cs_radius(n))

    return _cusum(
        [1.0 if value else 0.0 for value in correct],
        lambda value: right if value else wrong,
        lambda value: -right if value else -wrong,
        h,
        summary,
    )


def calibration_detector(
    gaps: Sequence[float], *, tolerance: float, design_gap: float, h: float
) -> Detection:
    """CUSUM of sub-Gaussian e-values on each label's (confidence - correct), in [-1, 1]:
    fires when the mean gap (over-confidence) is above ``tolerance``, tuned for
    ``tolerance + design_gap``; exp(lambda (x - m) - lambda^2 / 2) has mean at most 1 for any
    [-1, 1] variable of mean at most m (Hoeffding's lemma)."""
    lam = design_gap  # the optimal lambda for variance proxy 1
    high = tolerance + design_gap

    def summary(stretch: Sequence[float]) -> tuple[float, float]:
        n = len(stretch)
        mean = sum(stretch) / n
        return mean, max(-1.0, mean - 2 * cs_radius(n))

    return _cusum(
        list(gaps),
        lambda value: lam * (value - tolerance) - lam * lam / 2,
        lambda value: lam * (high - value) - lam * lam / 2,
        h,
        summary,
    )
