"""The pure statistics of monitoring on synthetic streams with a known accuracy."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from workflows.monitoring.stats import (
    Outcome,
    accuracy_detector,
    calibration,
    calibration_detector,
    confusion,
    cs_radius,
    threshold_for,
    wilson,
    window_start,
    windows_of,
)


@pytest.mark.parametrize("truth,n", [(0.92, 50), (0.85, 200), (0.6, 30)])
def test_the_wilson_interval_covers_the_truth_at_its_stated_rate(truth, n):
    seeds = 2000
    covered = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        k = sum(rng.random() < truth for _ in range(n))
        low, high = wilson(k, n)
        covered += low <= truth <= high
    # 95 % stated; the binomial noise over 2000 seeds is about ±1 %.
    assert 0.93 <= covered / seeds <= 0.985


def test_the_confidence_sequence_covers_the_truth_at_every_size_at_once():
    """Watched after every label, the anytime-valid interval misses the truth at some point
    in at most alpha of the streams (a fixed-size interval repeated would miss far more)."""
    truth, alpha, streams, length = 0.9, 0.05, 300, 2000
    ever_missed = repeated_wilson_missed = 0
    for seed in range(streams):
        rng = random.Random(seed)
        correct = 0
        missed = wilson_missed = False
        for n in range(1, length + 1):
            correct += rng.random() < truth
            mean = correct / n
            missed |= abs(mean - truth) > cs_radius(n, alpha)
            low, high = wilson(correct, n)
            wilson_missed |= not low <= truth <= high
        ever_missed += missed
        repeated_wilson_missed += wilson_missed
    assert ever_missed / streams <= alpha
    assert repeated_wilson_missed / streams > 2 * alpha  # why a sequential method is needed


def test_windows_are_by_prediction_time_and_weeks_start_on_monday():
    moment = datetime(2026, 12, 3, 17, 45, tzinfo=UTC)  # a Thursday
    assert window_start(moment, "hour") == datetime(2026, 12, 3, 17, tzinfo=UTC)
    assert window_start(moment, "day") == datetime(2026, 12, 3, tzinfo=UTC)
    assert window_start(moment, "week") == datetime(2026, 11, 30, tzinfo=UTC)
    outcomes = [
        Outcome(moment, "cat", "cat"),
        Outcome(moment + timedelta(minutes=10), "cat", "dog"),
        Outcome(moment + timedelta(hours=1), "dog", "dog"),
    ]
    windows = windows_of(outcomes, "hour")
    assert [(w.labels, w.correct) for w in windows] == [(2, 1), (1, 1)]


def test_confusion_precision_recall_and_the_most_confused_pairs():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    pairs = [("cat", "cat")] * 5 + [("dog", "cat")] * 3 + [("dog", "dog")] * 2 + [("cat", "bird")]
    outcomes = [Outcome(at, model, human) for human, model in pairs]
    found = confusion(outcomes, ["cat", "dog", "bird"])
    assert found["matrix"] == [[5, 0, 1], [3, 2, 0], [0, 0, 0]]
    assert found["per_label"]["cat"]["precision"] == pytest.approx(5 / 8)
    assert found["per_label"]["cat"]["recall"] == pytest.approx(5 / 6)
    assert found["per_label"]["dog"]["recall"] == pytest.approx(2 / 5)
    assert found["most_confused"][0] == {"human": "dog", "model": "cat", "count": 3}


def test_calibration_bins_and_gap():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(3)
    outcomes = []
    for _ in range(4000):
        stated = rng.uniform(0.5, 1.0)
        truly = stated - 0.1  # over-confident by 0.1
        right = rng.random() < truly
        outcomes.append(Outcome(at, "a", "a" if right else "b", stated))
    found = calibration(outcomes)
    assert found["labels"] == 4000
    assert found["gap"] == pytest.approx(0.1, abs=0.02)
    filled = [row for row in found["bins"] if row["labels"]]
    assert all(row["confidence"] - row["accuracy"] > 0.03 for row in filled if row["labels"] > 300)


def _stream(seed: int, accuracies: list[tuple[int, float]]) -> list[bool]:
    rng = random.Random(seed)
    return [rng.random() < accuracy for count, accuracy in accuracies for _ in range(count)]


def test_the_accuracy_detector_rarely_fires_on_a_stable_model_and_fires_after_a_drop():
    h = threshold_for(20_000)
    false_alarms = 0
    delays = []
    for seed in range(40):
        stable = _stream(seed, [(4000, 0.92)])
        detection = accuracy_detector(stable, null_accuracy=0.90, alternative_accuracy=0.85, h=h)
        false_alarms += len(detection.episodes)
        dropped = _stream(seed + 1000, [(1000, 0.92), (3000, 0.85)])
        detection = accuracy_detector(dropped, null_accuracy=0.90, alternative_accuracy=0.85, h=h)
        after = [e.fired_at_label for e in detection.episodes if e.fired_at_label >= 1000]
        delays.append(after[0] - 1000 if after else 10**9)
    # 160,000 labels of a stable model: the stated rate allows 8 on average; the null is 0.90
    # and the model 0.92, so far fewer.
    assert false_alarms <= 2
    delays.sort()
    assert delays[len(delays) // 2] < 1500  # median labels to detect a 7-point drop
    assert delays[int(0.9 * len(delays))] < 3000


def test_an_alarm_names_its_stretch_and_clears_when_the_model_recovers():
    h = threshold_for(10_000)
    stream = _stream(7, [(800, 0.93), (1500, 0.80), (3000, 0.95)])
    detection = accuracy_detector(stream, null_accuracy=0.90, alternative_accuracy=0.85, h=h)
    assert len(detection.episodes) == 1
    episode = detection.episodes[0]
    assert 800 <= episode.fired_at_label < 1800
    assert episode.started_at_label >= 700  # the change-point estimate is near the drop
    assert episode.estimate < 0.88
    assert episode.estimate <= episode.bound <= 1
    assert episode.cleared_at_label is not None and episode.cleared_at_label > 2300
    assert not detection.alarmed


def test_the_calibration_detector_fires_on_over_confidence_only():
    h = threshold_for(10_000)
    rng = random.Random(11)
    calibrated, overconfident = [], []
    for _ in range(20_000):
        stated = rng.uniform(0.6, 1.0)
        calibrated.append(stated - (rng.random() < stated))
        overconfident.append(stated - (rng.random() < stated - 0.2))
    quiet = calibration_detector(calibrated, tolerance=0.05, design_gap=0.05, h=h)
    loud = calibration_detector(overconfident, tolerance=0.05, design_gap=0.05, h=h)
    assert quiet.episodes == []
    assert loud.episodes and loud.episodes[0].estimate > 0.1
