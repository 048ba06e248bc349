"""The human budget stops the humans: once the items humans labeled (or are labeling) reach it,
a claim gets no new item of the job, a last round auto-labels what its model clears and the
rest is left unlabeled, with the reason on the page and in the API."""

import pytest
from django.test import Client
from django.urls import reverse

from active_learning.models import AutoLabeling, TrainingRound
from active_learning.selectors import budget_status
from active_learning.services.audits import audit_start
from active_learning.services.budget import BUDGET_SPENT
from active_learning.services.settings import auto_labeling_disable, auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from labeling.errors import Conflict
from labeling.models import Assignment, ConsolidatedLabel, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim, assignment_skip
from labeling.states import ItemStatus, JobStatus
from tests.active_learning.conftest import CLASSES, humans_label, synthetic_texts, truth_of
from tests.conftest import client_for, import_lines


@pytest.fixture(autouse=True)
def _checks_run_at_once(settings):
    settings.ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS = 0


def _loop_on(job, manager, **values):
    defaults = {"validation_size": 90, "round_every": 30, "min_training_labels": 20}
    return auto_labeling_enable(job=job, by=manager, seed=1, **{**defaults, **values})


def _label_until_refused(job, worker, limit: int = 10_000) -> tuple[int, Conflict | None]:
    done = 0
    for _ in range(limit):
        try:
            lease = assignment_claim(job=job, worker=worker)
        except Conflict as refused:
            return done, refused
        if lease is None:
            return done, None
        annotation_submit(
            assignment_id=lease.pk, worker=worker, answer={"label": truth_of(lease.item_id)}
        )
        done += 1
    return done, None


def _human_items(job) -> int:
    return ConsolidatedLabel.objects.filter(job=job, human_annotated=True).count()


@pytest.mark.django_db(transaction=True)
def test_a_spent_budget_stops_humans_and_the_last_round_labels_what_it_can(
    text_job, manager, labeler
):
    job = text_job(600)
    # Rounds far apart: the budget's last round is the only one.
    _loop_on(job, manager, human_budget=200, round_every=1000)
    answered, refused = _label_until_refused(job, labeler)

    assert answered == 200 == _human_items(job)  # the validation slice counts too
    assert refused is not None and refused.code == BUDGET_SPENT
    assert "human budget of 200 items is spent" in refused.message
    # Asking again changes nothing: no lease, no half-state.
    with pytest.raises(Conflict):
        assignment_claim(job=job, worker=labeler)
    assert not Assignment.objects.filter(job=job, status="leased").exists()
    assert not Item.objects.filter(job=job, status=ItemStatus.OPEN, taken__gt=0).exists()

    last = TrainingRound.objects.filter(job=job).order_by("-number").first()
    assert last.trigger == RoundTrigger.BUDGET and last.status == RoundStatus.DONE
    assert TrainingRound.objects.filter(job=job, trigger=RoundTrigger.BUDGET).count() == 1
    auto = ConsolidatedLabel.objects.filter(job=job, human_annotated=False)
    assert auto.count() > 0
    assert all(
        label.confidence >= last.threshold for label in auto.filter(method=last_method(last))
    )
    unlabeled = Item.objects.filter(job=job, status=ItemStatus.OPEN).count()
    assert unlabeled == 600 - 200 - auto.count() > 0
    assert f"{unlabeled} items are left unlabeled" in last.message

    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS
    config = AutoLabeling.objects.get(job=job)
    assert config.budget_spent_at is not None
    status = budget_status(config=config)
    assert status["spent"] and status["used"] == 200 and status["left"] == 0
    assert status["unlabeled"] == unlabeled
    assert f"{unlabeled} items are left unlabeled" in status["message"]

    # The page and the API say why.
    browser = Client()
    browser.force_login(manager)
    page = browser.get(reverse("console-job-auto-labeling", args=[job.pk]))
    assert page.status_code == 200
    assert "human budget of 200 items is spent" in page.content.decode()
    body = client_for(manager).get(f"/api/v1/jobs/{job.pk}/auto-labeling").json()
    assert body["budget"]["spent"] is True and body["budget"]["unlabeled"] == unlabeled
    # The portal's claim gets the reason in the project's error shape.
    response = client_for(labeler).post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == BUDGET_SPENT

    # No further round without new human labels.
    rounds = TrainingRound.objects.filter(job=job).count()
    from active_learning.tasks import job_check

    assert job_check(job.pk) is None
    assert TrainingRound.objects.filter(job=job).count() == rounds


def last_method(round_: TrainingRound) -> str:
    return f"model-v{round_.number}"


@pytest.mark.django_db
def test_items_in_progress_count_and_are_finished(make_job, manager, make_labeler):
    """With two workers per item, an item one worker started takes its second answer after
    the budget is used up; a new item does not."""
    job = make_job(
        items=0, start=False, labels=CLASSES, workers_per_item=2, max_concurrent_tasks_per_worker=3
    )
    import_lines(job, manager, synthetic_texts(60))
    from labeling.services.jobs import job_start

    job = job_start(job=job, by=manager)
    _loop_on(job, manager, human_budget=3, validation_size=10, round_every=1000)
    first, second = make_labeler("first"), make_labeler("second")
    leases = [assignment_claim(job=job, worker=first) for _ in range(3)]
    # Three items in progress use the budget up: the other worker gets only their slots.
    taken = set()
    for _ in range(3):
        lease = assignment_claim(job=job, worker=second)
        taken.add(lease.item_id)
        annotation_submit(
            assignment_id=lease.pk, worker=second, answer={"label": truth_of(lease.item_id)}
        )
    assert taken == {lease.item_id for lease in leases}
    with pytest.raises(Conflict) as refused:
        assignment_claim(job=job, worker=second)
    assert refused.value.code == BUDGET_SPENT
    # A skipped slot is free again: another worker finishes the item; the budget stays used.
    assignment_skip(assignment_id=leases[0].pk, worker=first)
    assert budget_status(config=AutoLabeling.objects.get(job=job))["used"] == 3
    for lease in leases[1:]:
        annotation_submit(
            assignment_id=lease.pk, worker=first, answer={"label": truth_of(lease.item_id)}
        )
    assert _human_items(job) == 2
    assert budget_status(config=AutoLabeling.objects.get(job=job))["used"] == 3  # one half-done
    third = make_labeler("third")
    lease = assignment_claim(job=job, worker=third)  # the skipped item's free slot
    assert lease.item_id == leases[0].item_id


@pytest.mark.django_db(transaction=True)
def test_raising_the_budget_or_turning_the_loop_off_reopens_the_job(text_job, manager, labeler):
    job = text_job(300)
    _loop_on(job, manager, human_budget=40, round_every=1000)
    answered, refused = _label_until_refused(job, labeler)
    assert answered == 40 and refused is not None
    config = AutoLabeling.objects.get(job=job)
    assert config.budget_spent_at is not None

    _loop_on(job, manager, human_budget=50)
    config.refresh_from_db()
    assert config.budget_spent_at is None
    answered, refused = _label_until_refused(job, labeler)
    assert answered == 10 and refused is not None and _human_items(job) == 50

    auto_labeling_disable(job=job)
    assert humans_label(job, labeler, 5) == 5  # the budget belongs to the loop


@pytest.mark.django_db(transaction=True)
def test_an_audit_needs_room_in_the_budget(text_job, manager, labeler):
    job = text_job(600)
    _loop_on(job, manager, human_budget=200, round_every=1000)
    assert _label_until_refused(job, labeler)[0] == 200
    assert ConsolidatedLabel.objects.filter(job=job, human_annotated=False).exists()
    with pytest.raises(Conflict) as refused:
        audit_start(job=job, by=manager, sample_size=10, seed=0)
    assert refused.value.code == BUDGET_SPENT and "has 0 left" in refused.value.message
    assert (
        not ConsolidatedLabel.objects.filter(job=job, human_annotated=False)
        .filter(item__status=ItemStatus.OPEN)
        .exists()
    )
    _loop_on(job, manager, human_budget=210)
    audit = audit_start(job=job, by=manager, sample_size=10, seed=0)
    assert audit.sample_size == 10
