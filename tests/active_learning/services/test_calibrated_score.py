"""Rounds keep each model's predictions of the open items; a later round fits the
class-aware score on those humans labeled since (never on the validation slice) and picks
its threshold on it."""

import numpy as np
import pytest

from active_learning.calibration import MIN_CALIBRATION_PAIRS
from active_learning.labelspace import LabelSpace
from active_learning.models import AutoLabel, HeldOutItem, ModelArtifact
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.services.training import (
    class_calibration_for_job,
    open_predictions_load,
    open_predictions_store,
)
from active_learning.states import RoundStatus, RoundTrigger
from labeling.models import ConsolidatedLabel
from tests.active_learning.conftest import CLASSES, humans_label


def _round(job) -> ModelArtifact:
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    job.refresh_from_db()
    assert queued is not None, job.status
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    queued.refresh_from_db()
    return ModelArtifact.objects.get(pk=queued.artifact_id)


def _human_targets(job) -> dict[int, int]:
    return {
        item_id: CLASSES.index(label)
        for item_id, label in ConsolidatedLabel.objects.filter(
            job=job, human_annotated=True
        ).values_list("item_id", "label")
    }


@pytest.mark.django_db
def test_a_later_round_scores_by_the_predictions_of_items_labeled_since(
    text_job, manager, labeler, settings
):
    settings.ACTIVE_LEARNING_CLASS_CALIBRATION = True
    job = text_job(900)
    auto_labeling_enable(
        job=job,
        by=manager,
        seed=1,
        validation_size=150,
        round_every=100,  # the test asks for its rounds itself
        min_training_labels=20,
        target_accuracy=0.99,  # no threshold yet: every item stays for the second round
    )
    humans_label(job, labeler, 200)
    first = _round(job)
    # Nothing predicted out of sample yet: the first round reads the confidence.
    assert first.metrics["threshold_score"] == "confidence"
    assert first.metrics["calibration_pairs"] == 0
    stored = open_predictions_load(job.pk)
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    assert stored and not held_out & set(stored)
    assert all(0 <= predicted < len(CLASSES) for predicted, _ in stored.values())

    labeled_before = set(_human_targets(job))
    humans_label(job, labeler, MIN_CALIBRATION_PAIRS + 10)
    labeled_since = set(_human_targets(job)) - labeled_before - held_out
    assert labeled_since <= set(stored)
    human = _human_targets(job)
    second = _round(job)
    assert second.metrics["threshold_score"] == "calibrated"
    assert second.metrics["calibration_pairs"] == len(labeled_since)
    # What it auto-labeled cleared its threshold on the calibrated score (the same fit: the
    # items labeled since were not open in this round, so their predictions stayed).
    space = LabelSpace.for_job(job.task_type, list(job.labels))
    calibration = class_calibration_for_job(job.pk, space, human)
    assert calibration is not None and calibration.pairs == len(labeled_since)
    labels = list(AutoLabel.objects.filter(job=job, artifact=second))
    if second.threshold is not None and labels:
        scores = calibration.score(
            np.asarray([CLASSES.index(label.label) for label in labels]),
            np.asarray([label.confidence for label in labels]),
        )
        assert scores.min() >= second.threshold - 1e-4


@pytest.mark.django_db
def test_the_validation_slice_never_calibrates_the_score(text_job, manager, labeler, settings):
    settings.ACTIVE_LEARNING_CLASS_CALIBRATION = True
    job = text_job(400)
    auto_labeling_enable(
        job=job, by=manager, seed=2, validation_size=100, round_every=30, min_training_labels=20
    )
    humans_label(job, labeler, 160)
    human = _human_targets(job)
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    slice_labeled = sorted(held_out & set(human))
    others = sorted(set(human) - held_out)
    assert len(slice_labeled) >= MIN_CALIBRATION_PAIRS and len(others) >= MIN_CALIBRATION_PAIRS
    space = LabelSpace.for_job(job.task_type, list(job.labels))
    # Predictions stored for labeled items of the slice too (as a refilled slice's items
    # would have had while they waited): they must not count.
    wrong = [(human[i] + 1) % len(CLASSES) for i in slice_labeled]
    open_predictions_store(
        job.pk, np.asarray(slice_labeled), np.asarray(wrong), np.full(len(wrong), 0.99)
    )
    assert class_calibration_for_job(job.pk, space, human) is None  # none of them counts
    right = [human[i] for i in others]
    right[0] = (right[0] + 1) % len(CLASSES)  # one wrong, so there is something to fit
    open_predictions_store(job.pk, np.asarray(others), np.asarray(right), np.full(len(right), 0.9))
    calibration = class_calibration_for_job(job.pk, space, human)
    assert calibration is not None and calibration.pairs == len(others)


@pytest.mark.django_db
def test_off_by_default_the_threshold_reads_the_confidence(text_job, manager, labeler):
    job = text_job(300)
    auto_labeling_enable(
        job=job, by=manager, seed=3, validation_size=80, round_every=100, min_training_labels=20
    )
    humans_label(job, labeler, 120)
    first = _round(job)
    humans_label(job, labeler, MIN_CALIBRATION_PAIRS + 5)
    second = _round(job)
    assert first.metrics["threshold_score"] == second.metrics["threshold_score"] == "confidence"
    assert open_predictions_load(job.pk) == {}
