"""Audits send auto-labels back to humans and stop auto-labeling when they fall short;
pre-annotation shows the model's suggestion and counts how often humans change it."""

import pytest

from active_learning.models import AutoLabel, AutoLabeling, HeldOutItem, Suggestion
from active_learning.selectors import suggestion_stats
from active_learning.services.audits import audit_evaluate, audit_start
from active_learning.services.priorities import AUDIT_PRIORITY
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import AuditStatus, RoundStatus, RoundTrigger
from labeling.errors import Conflict
from labeling.models import Assignment, ConsolidatedLabel, Item
from labeling.selectors import job_progress
from labeling.services.assignments import assignment_claim
from labeling.states import ItemStatus
from labeling.task_ui.rendering import render_task
from tests.active_learning.conftest import humans_label


def _round(job) -> None:
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE


@pytest.fixture
def auto_labeled_job(text_job, manager, labeler):
    job = text_job(450)
    auto_labeling_enable(
        job=job, by=manager, seed=2, validation_size=120, round_every=1000, min_training_labels=20
    )
    humans_label(job, labeler, 220)
    _round(job)
    assert AutoLabel.objects.filter(job=job).count() > 40
    return job


@pytest.mark.django_db
def test_an_audit_reopens_a_random_sample_first_in_the_queue(auto_labeled_job, manager, labeler):
    job = auto_labeled_job
    job.refresh_from_db()
    labeled_before = job_progress(job_id=job.pk).items_labeled
    audit = audit_start(job=job, by=manager, sample_size=30, seed=5)
    audited = set(AutoLabel.objects.filter(audit=audit).values_list("item_id", flat=True))
    assert len(audited) == audit.sample_size == 30
    assert not ConsolidatedLabel.objects.filter(item_id__in=audited).exists()
    items = Item.objects.filter(pk__in=audited)
    assert {item.status for item in items} == {ItemStatus.OPEN}
    assert {item.priority for item in items} == {AUDIT_PRIORITY}
    job.refresh_from_db()
    assert job_progress(job_id=job.pk).items_labeled == labeled_before - 30
    claimed = assignment_claim(job=job, worker=labeler)
    assert claimed.item_id in audited
    Assignment.objects.filter(pk=claimed.pk).update(status="released")
    Item.objects.filter(pk=claimed.item_id).update(taken=0)
    with pytest.raises(Conflict):
        audit_start(job=job, by=manager, sample_size=5)


@pytest.mark.django_db
def test_a_failed_audit_stops_auto_labeling_and_says_why(auto_labeled_job, manager, labeler):
    job = auto_labeled_job
    audit = audit_start(job=job, by=manager, sample_size=20, seed=5)
    model_said = dict(AutoLabel.objects.filter(audit=audit).values_list("item_id", "label"))
    # The audited items come first; the humans give a label other than the model's.
    humans_label(
        job, labeler, 20, answer_for=lambda item_id: next(
            c for c in ("cat", "dog", "bird") if c != model_said[item_id]
        ),
    )  # fmt: skip
    audit = audit_evaluate(audit_id=audit.pk)
    assert audit.status == AuditStatus.FAILED
    assert audit.answered == 20 and audit.agreed == 0 and audit.measured_accuracy == 0
    config = AutoLabeling.objects.get(job=job)
    assert not config.may_auto_label
    assert f"audit {audit.pk} failed" in config.stopped_reason
    assert "agreed with 0 of 20" in config.stopped_reason
    # The humans' answers replaced the model's labels of the audited items.
    audited = AutoLabel.objects.filter(audit=audit).values_list("item_id", flat=True)
    assert ConsolidatedLabel.objects.filter(item_id__in=audited, human_annotated=True).count() == 20


@pytest.mark.django_db
def test_an_audit_the_humans_confirm_passes(auto_labeled_job, manager, labeler):
    job = auto_labeled_job
    audit = audit_start(job=job, by=manager, sample_size=20, seed=5)
    model_said = dict(AutoLabel.objects.filter(audit=audit).values_list("item_id", "label"))
    humans_label(job, labeler, 10, answer_for=model_said.get)
    assert audit_evaluate(audit_id=audit.pk).status == AuditStatus.OPEN
    humans_label(job, labeler, 10, answer_for=model_said.get)
    audit = audit_evaluate(audit_id=audit.pk)
    assert audit.answered == 20
    assert audit.status == AuditStatus.PASSED, audit.message
    assert AutoLabeling.objects.get(job=job).may_auto_label


@pytest.mark.django_db
def test_suggestions_are_shown_never_on_the_validation_slice_and_changes_are_counted(
    text_job, manager, labeler
):
    job = text_job(300)
    config = auto_labeling_enable(
        job=job, by=manager, seed=4, validation_size=90, preannotate=True, min_training_labels=20
    )
    config.stopped_reason = "suggestions only in this test"
    config.save()
    humans_label(job, labeler, 130)
    _round(job)
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    suggested = set(Suggestion.objects.filter(job=job).values_list("item_id", flat=True))
    open_items = set(
        Item.objects.filter(job=job, status=ItemStatus.OPEN).values_list("pk", flat=True)
    )
    assert suggested == open_items - held_out and suggested
    assignment = assignment_claim(job=job, worker=labeler)
    assignment = Assignment.objects.select_related("job", "item").get(pk=assignment.pk)
    suggestion = Suggestion.objects.get(item_id=assignment.item_id)
    html = render_task(assignment)
    assert "The model suggests" in html and suggestion.label in html
    Assignment.objects.filter(pk=assignment.pk).update(status="released")
    Item.objects.filter(pk=assignment.item_id).update(taken=0)
    humans_label(job, labeler, 10, wrong=True)
    stats = suggestion_stats(job_id=job.pk)
    assert stats["answered"] == 10
    expected = sum(
        s.label != s.item.consolidated.label
        for s in Suggestion.objects.filter(job=job, item__status=ItemStatus.LABELED)
    )
    assert stats["changed"] == expected
