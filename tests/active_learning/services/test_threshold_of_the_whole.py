"""Later rounds judge the job's auto-labels as a whole: the held-out items earlier rounds
would have labeled keep judging, by the label those rounds would have given."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from scipy.stats import beta

from active_learning.models import HeldOutItem, ModelArtifact
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from labeling.models import ConsolidatedLabel
from tests.active_learning.conftest import humans_label, truth_of


def _round(job) -> ModelArtifact:
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    job.refresh_from_db()
    assert queued is not None, (job.status, job.items_total)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    queued.refresh_from_db()
    return ModelArtifact.objects.get(pk=queued.artifact_id)


def _two_rounds(text_job, manager, labeler, **values):
    job = text_job(900)
    auto_labeling_enable(
        job=job,
        by=manager,
        seed=1,
        **{
            "validation_size": 150,
            "round_every": 30,
            "min_training_labels": 20,
            "target_accuracy": 0.97,  # round 1 leaves items for round 2 on this easy set
            **values,
        },
    )
    humans_label(job, labeler, 200)
    first = _round(job)
    assert first.threshold is not None and first.metrics["validation_carried"] == 0
    assert first.metrics["alpha"] == pytest.approx(0.05)
    humans_label(job, labeler, 20)
    return job, first


@pytest.mark.django_db
def test_the_marked_items_keep_the_label_their_round_would_have_given(text_job, manager, labeler):
    job, first = _two_rounds(text_job, manager, labeler)
    marked = list(
        HeldOutItem.objects.filter(job=job, would_label_round=first.version)
        .select_related("item")
        .order_by("pk")
    )
    assert marked
    learner = pickle.loads((Path(django_settings.MEDIA_ROOT) / first.path).read_bytes())
    texts = [held.item.data for held in marked]  # one query, one order: labels and texts pair up
    predicted = learner.predict_proba([json.loads(text)["source"] for text in texts]).argmax(1)
    assert [held.would_label for held in marked] == [first.classes[i] for i in predicted]
    assert all(held.would_label_value is not None for held in marked)


@pytest.mark.django_db
def test_a_later_round_bounds_the_whole_at_a_smaller_level(text_job, manager, labeler):
    job, first = _two_rounds(text_job, manager, labeler)
    marked = HeldOutItem.objects.filter(job=job, would_label_round__isnull=False)
    human = dict(
        ConsolidatedLabel.objects.filter(job=job, human_annotated=True).values_list(
            "item_id", "label"
        )
    )
    carried = [held for held in marked if held.item_id in human]
    carried_right = sum(held.would_label == human[held.item_id] for held in carried)
    assert carried and carried_right >= 0.9 * len(carried)
    second = _round(job)
    metrics = second.metrics
    assert metrics["validation_carried"] == len(carried)
    assert metrics["alpha"] == pytest.approx(0.05 / 8)  # the second round that auto-labels
    # The bound is of the whole: carried items and the ones this model would add together.
    assert second.validation_size == 150
    covered, correct = metrics["validation_covered"], metrics["validation_correct"]
    if second.threshold is not None:
        assert covered >= len(carried) and correct >= carried_right
        expected = beta.ppf(0.05 / 8, correct, covered - correct + 1)
        assert metrics["lower_bound"] == pytest.approx(expected, abs=1e-4)
        assert metrics["lower_bound"] >= 0.97
    # And the auto-labels as a whole are right at the target on this easy set.
    machine = ConsolidatedLabel.objects.filter(job=job, human_annotated=False)
    right = np.mean([truth_of(label.item_id) == label.label for label in machine])
    assert right >= 0.97


@pytest.mark.django_db
def test_with_refill_or_without_stored_labels_each_round_is_judged_alone(
    text_job, manager, labeler
):
    job, _ = _two_rounds(text_job, manager, labeler, validation_refill=True)
    refilled = _round(job)
    assert refilled.metrics["validation_carried"] == 0
    assert refilled.metrics["alpha"] == pytest.approx(0.05)

    job, _ = _two_rounds(text_job, manager, labeler)
    # Rows marked before the labels were stored: nothing is carried.
    HeldOutItem.objects.filter(job=job, would_label_round__isnull=False).update(would_label="")
    legacy = _round(job)
    assert legacy.metrics["validation_carried"] == 0
    assert legacy.metrics["alpha"] == pytest.approx(0.05)
    assert (
        legacy.validation_size
        == HeldOutItem.objects.filter(job=job, would_label_round__isnull=True).count()
    )
