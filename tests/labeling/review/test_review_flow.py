"""Review outcomes, going back, comments and history (issue 14), on the services and the API."""

import pytest
from django.test import Client

from labeling.errors import Conflict, NotAllowed, ValidationFailed
from labeling.models import Annotation, ConsolidatedLabel, Item, ItemComment, ItemEvent, Job
from labeling.quality.selectors import job_worker_review_acceptance
from labeling.review import selectors
from labeling.review.services.comments import item_comment_add
from labeling.review.services.reviews import (
    job_review_configure,
    review_accept,
    review_reject,
)
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.item_events import review_chosen
from labeling.services.jobs import job_progress
from labeling.services.revisions import annotation_revise, item_reopen, job_reopen
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _answer(job, worker, label):
    lease = assignment_claim(job=job, worker=worker)
    assert lease is not None
    return annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


@pytest.fixture
def workers(make_labeler):
    return [make_labeler(name) for name in ("w1", "w2", "w3")]


@pytest.fixture
def reviewed(make_job, workers):
    """A job of one item answered by three workers, every item going to review."""
    job = make_job(items=1, workers_per_item=3)
    job_review_configure(job=job, mode="all")
    for worker, label in zip(workers, ("cat", "cat", "dog"), strict=True):
        _answer(job, worker, label)
    job.refresh_from_db()
    return job, Item.objects.get(job=job)


def test_review_stage_modes_choose_items():
    assert review_chosen(mode="all", share=0, below=0, item_id=1, confidence=1.0)
    assert not review_chosen(mode="none", share=1, below=1, item_id=1, confidence=0.0)
    assert review_chosen(mode="below", share=0, below=0.8, item_id=1, confidence=0.5)
    assert not review_chosen(mode="below", share=0, below=0.8, item_id=1, confidence=0.9)
    chosen = sum(
        review_chosen(mode="random", share=0.25, below=0, item_id=i, confidence=1)
        for i in range(4000)
    )
    assert 800 < chosen < 1200  # a quarter, decided by the item id: the same on every run


def test_a_labeler_reviews_only_with_the_reviewer_role(reviewed, workers, manager):
    job, item = reviewed
    with pytest.raises(NotAllowed):
        review_accept(job=job, item_id=item.pk, reviewer=workers[0])
    reviewers = client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/reviewers", {"user_id": workers[0].pk}, format="json"
    )
    assert {r["username"]: r["reviewer"] for r in reviewers.json()}["w1"] is True
    accepted = review_accept(job=job, item_id=item.pk, reviewer=workers[0])
    assert (accepted.review_status, accepted.reviewed_by) == ("accepted", workers[0])
    acceptance = job_worker_review_acceptance(job=job)
    assert {w.pk: acceptance[w.pk]["rate"] for w in workers} == {w.pk: 1.0 for w in workers}


def test_a_rejection_for_more_answers_reopens_the_item_for_a_fourth_worker(
    reviewed, workers, make_labeler, manager
):
    job, item = reviewed
    with pytest.raises(ValidationFailed, match="say why"):
        review_reject(job=job, item_id=item.pk, reviewer=manager, reason=" ")
    review_reject(job=job, item_id=item.pk, reviewer=manager, reason="it is a dog", send_to="more")
    item.refresh_from_db()
    assert item.status == "open" and not ConsolidatedLabel.objects.filter(item=item).exists()
    assert job_progress(job_id=job.pk).items_labeled == 0
    assert assignment_claim(job=job, worker=workers[0]) is None  # answered already
    _answer(job, make_labeler("w4"), "dog")
    label = ConsolidatedLabel.objects.get(item=item)
    assert label.answers_count == 4 and label.review_status == "pending"
    rejected = ItemEvent.objects.get(item=item, kind="review_rejected")
    assert rejected.data["reason"] == "it is a dog" and rejected.data["before"]["label"] == "cat"
    acceptance = job_worker_review_acceptance(job=job)
    assert acceptance[workers[0].pk] == {"reviewed": 1, "accepted": 0, "rate": 0.0}


def test_a_rejection_for_rework_goes_back_to_its_workers_who_revise(reviewed, workers, manager):
    job, item = reviewed
    review_reject(job=job, item_id=item.pk, reviewer=manager, reason="look again", send_to="rework")
    assert set(Annotation.objects.filter(item=item).values_list("rework_reason", flat=True)) == {
        "look again"
    }
    rows = selectors.worker_answers(job=job, worker=workers[0])
    assert rows[0]["annotation"].rework_reason == "look again"
    mine = {w.pk: Annotation.objects.get(item=item, worker=w) for w in workers}
    for worker in workers[:2]:
        annotation_revise(annotation_id=mine[worker.pk].pk, worker=worker, answer={"label": "dog"})
        assert not ConsolidatedLabel.objects.filter(item=item).exists()  # one still to revise
    annotation_revise(
        annotation_id=mine[workers[2].pk].pk, worker=workers[2], answer={"label": "dog"}
    )
    label = ConsolidatedLabel.objects.get(item=item)
    assert label.label == "dog"
    assert job_progress(job_id=job.pk).items_labeled == 1
    assert ItemEvent.objects.filter(item=item, kind="answer_revised").count() == 3


def test_a_labeler_revises_until_consolidated_or_within_the_jobs_window(make_job, workers):
    job = make_job(items=1, workers_per_item=2)
    first = _answer(job, workers[0], "cat")
    revised = annotation_revise(annotation_id=first.pk, worker=workers[0], answer={"label": "dog"})
    assert (revised.label, revised.answer) == ("dog", {"label": "dog"})
    with pytest.raises(ValidationFailed, match="not one of the job's labels"):
        annotation_revise(annotation_id=first.pk, worker=workers[0], answer={"label": "eel"})
    with pytest.raises(Exception, match="no answer"):
        annotation_revise(annotation_id=first.pk, worker=workers[1], answer={"label": "dog"})
    _answer(job, workers[1], "dog")
    with pytest.raises(Conflict, match="already consolidated"):
        annotation_revise(annotation_id=first.pk, worker=workers[0], answer={"label": "cat"})
    Job.objects.filter(pk=job.pk).update(revise_window_seconds=600)
    annotation_revise(annotation_id=first.pk, worker=workers[0], answer={"label": "bird"})
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert label.answers_count == 2 and job_progress(job_id=job.pk).items_labeled == 1
    history = selectors.item_history(item=Item.objects.get(job=job))
    kinds = [row.kind for row in history]
    assert kinds[0] == "consolidated" and kinds.count("answer_revised") == 2
    assert history == sorted(history, key=lambda row: row.at, reverse=True)


def test_a_manager_reopens_an_item_and_a_completed_job(make_job, workers, manager):
    job = make_job(items=2, workers_per_item=1)
    for _ in range(2):
        _answer(job, workers[0], "cat")
    job.refresh_from_db()
    assert job.status == "completed"
    item = Item.objects.filter(job=job).first()
    item_reopen(job=job, item_id=item.pk, by=manager, more=1, reason="check")
    job.refresh_from_db()
    assert job.status == "in_progress" and job.finished_at is None
    _answer(job, workers[1], "dog")
    job.refresh_from_db()
    assert job.status == "completed"
    assert ConsolidatedLabel.objects.get(item=item).answers_count == 2
    job_reopen(job=job, by=manager, more=1)
    assert Item.objects.filter(job=job, status="open").count() == 2
    assert job_progress(job_id=job.pk).items_labeled == 0


def test_comments_mention_team_members_and_reach_the_labelers_who_answered(
    reviewed, workers, manager, make_labeler
):
    job, item = reviewed
    comment = item_comment_add(
        job=job, item_id=item.pk, author=manager, body="@w1 @nobody is this a cat?",
        region={"kind": "span", "index": 0, "label": "cat", "extra": "dropped"},
    )  # fmt: skip
    assert comment.mentions == [workers[0].pk]
    assert comment.region == {"kind": "span", "index": 0, "label": "cat"}
    with pytest.raises(ValidationFailed):
        item_comment_add(job=job, item_id=item.pk, author=manager, body="x", region={"kind": "?"})
    (row,) = selectors.worker_answers(job=job, worker=workers[1])
    assert row["comments"][0]["body"] == "@w1 @nobody is this a cat?"
    api = client_for(workers[2])
    posted = api.post(
        f"/api/v1/jobs/{job.pk}/items/{item.pk}/comments", {"body": "it is a dog"}, format="json"
    )
    assert posted.status_code == 201 and posted.json()["author"] == "w3"
    assert ItemComment.objects.filter(item=item).count() == 2


def test_the_review_api_answers_errors_in_the_one_shape(reviewed, workers, manager):
    job, item = reviewed
    url = f"/api/v1/jobs/{job.pk}/items/{item.pk}/review"
    refused = client_for(workers[0]).post(url, {"action": "accept"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    bad = client_for(manager).post(
        url, {"action": "fix", "answer": {"label": "eel"}}, format="json"
    )
    assert bad.status_code == 400 and "eel" in bad.json()["error"]["message"]
    fixed = client_for(manager).post(
        url, {"action": "fix", "answer": {"label": "dog"}}, format="json"
    )
    assert fixed.json() == {
        "item_id": item.pk,
        "outcome": "fixed",
        "label": "dog",
        "next_item_id": None,
    }
    history = client_for(manager).get(f"/api/v1/jobs/{job.pk}/items/{item.pk}/history").json()
    assert history[0]["kind"] == "review_fixed" and history[0]["who"] == "pm"
    assert (
        client_for(workers[0]).get(f"/api/v1/jobs/{job.pk}/items/{item.pk}/history").status_code
        == 403
    )


def test_the_item_page_and_review_console_are_for_managers_and_count_outcomes(
    reviewed, workers, manager
):
    job, item = reviewed
    labeler = Client()
    labeler.force_login(workers[0])
    assert labeler.get(f"/console/jobs/{job.pk}/items/{item.pk}").status_code == 403
    assert labeler.get(f"/work/jobs/{job.pk}/review").status_code == 403
    assert labeler.get(f"/work/jobs/{job.pk}/items/{item.pk}/ui").status_code == 200  # answered
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/console/jobs/{job.pk}/items/{item.pk}")
    assert page.status_code == 200
    assert [v["votes"] for v in page.context["votes"]] == [2, 1, 0]
    review_accept(job=job, item_id=item.pk, reviewer=manager)
    console = browser.get(f"/console/jobs/{job.pk}/review")
    assert console.context["counts"] == {"pending": 0, "accepted": 1, "fixed": 0, "rejected": 0}


def test_an_item_stuck_in_rework_is_reopened_for_new_answers(
    reviewed, workers, manager, make_labeler
):
    job, item = reviewed
    review_reject(job=job, item_id=item.pk, reviewer=manager, reason="again", send_to="rework")
    with pytest.raises(ValidationFailed):
        item_reopen(job=Job.objects.get(pk=job.pk), item_id=item.pk, by=manager, more=0)
    item_reopen(job=Job.objects.get(pk=job.pk), item_id=item.pk, by=manager, more=1)
    assert not Annotation.objects.filter(item=item).exclude(rework_reason="").exists()
    _answer(job, make_labeler("w4"), "dog")
    assert ConsolidatedLabel.objects.get(item=item).answers_count == 4


def test_the_dashboard_reopens_a_completed_job(make_job, workers, manager):
    job = make_job(items=1, workers_per_item=1)
    _answer(job, workers[0], "cat")
    browser = Client()
    browser.force_login(manager)
    assert 'id="reopen-job"' in browser.get(f"/console/jobs/{job.pk}/").content.decode()
    browser.post(f"/console/jobs/{job.pk}/reopen", {"more": "1"})
    job.refresh_from_db()
    assert job.status == "in_progress" and Item.objects.get(job=job).status == "open"


def test_the_item_page_takes_a_worker_filter_that_is_no_id_as_matching_nothing(manager, make_job):
    """?worker= is an id (docs/review.md); anything else (a name, a number past any id) used
    to fail the neighbours' query with a 500."""
    job = make_job(items=3)
    item_id = Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True)[1]
    browser = Client()
    browser.force_login(manager)
    for worker in ("ann", str(10**20), "-1"):
        page = browser.get(f"/console/jobs/{job.pk}/items/{item_id}?worker={worker}")
        assert page.status_code == 200, worker
        assert page.context["viewer"]["previous"] == page.context["viewer"]["next"] == ""
