"""The console's quality dashboard, rendered by Django."""

import pytest
from django.test import Client

from labeling.models import ConsolidatedLabel
from labeling.quality.services.reliability import job_quality_configure, job_quality_reestimate
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked_job(make_job, make_labeler):
    job = make_job(items=3, workers_per_item=3)
    job_quality_configure(job=job, min_workers_per_item=2, target_confidence=0.9)
    workers = [make_labeler(name) for name in ("w1", "w2", "w3")]
    answers = {0: ("cat", "cat"), 1: ("dog", "bird", "dog"), 2: ("bird", "bird")}
    for item_answers in answers.values():
        for worker, label in zip(workers, item_answers, strict=False):
            lease = assignment_claim(job=job, worker=worker)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    job_quality_reestimate(job_id=job.pk)
    return job


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_agreement_workers_hot_spots_and_answers_saved(worked_job, manager):
    page = _browser(manager).get(f"/console/jobs/{worked_job.pk}/quality")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Krippendorff" in html and "Fleiss" in html
    assert 'id="worker-quality"' in html and "w1" in html
    assert 'id="hot-spots"' in html
    assert page.context["saved"] == {
        "items_labeled": 3, "answers_spent": 7, "answers_at_fixed_overlap": 9, "answers_saved": 2,
    }  # fmt: skip
    assert page["Content-Security-Policy"]


def test_hot_spots_link_to_the_item_page(worked_job, manager):
    """Issue 14 replaced the classification-only review queue: a hot spot opens its item."""
    browser = _browser(manager)
    page = browser.get(f"/console/jobs/{worked_job.pk}/quality")
    lowest = page.context["hot_spots"][0]
    assert f'/console/jobs/{worked_job.pk}/items/{lowest["item_id"]}"' in page.content.decode()
    item_page = browser.get(f"/console/jobs/{worked_job.pk}/items/{lowest['item_id']}")
    assert item_page.status_code == 200
    assert ConsolidatedLabel.objects.filter(item_id=lowest["item_id"]).exists()


def test_settings_form_and_refusals(worked_job, manager):
    browser = _browser(manager)
    saved = browser.post(
        f"/console/jobs/{worked_job.pk}/quality/settings",
        {"consolidation_method": "one_coin", "gold_rate": "0.2", "gold_min_answers": "4",
         "min_workers_per_item": "9", "target_confidence": "0.9"},
        follow=True,
    )  # fmt: skip
    assert "not saved" in saved.content.decode()  # 9 is above the job's maximum of 3
    browser.post(
        f"/console/jobs/{worked_job.pk}/quality/settings",
        {"consolidation_method": "one_coin", "gold_rate": "0.2", "gold_min_answers": "4"},
    )
    worked_job.refresh_from_db()
    assert worked_job.consolidation_method == "one_coin" and worked_job.gold_rate == 0.2
    assert worked_job.min_workers_per_item is None


def test_labelers_cannot_open_quality_pages(worked_job, labeler):
    browser = _browser(labeler)
    assert browser.get(f"/console/jobs/{worked_job.pk}/quality").status_code == 403
    assert browser.get(f"/console/jobs/{worked_job.pk}/review").status_code == 403


def test_gold_items_are_added_from_the_console(worked_job, manager):
    browser = _browser(manager)
    lines = "\n".join(
        [
            '{"data": {"source": "known"}, "label": "dog"}',
            "",
            '{"data": {"source": "k2"}, "label": "cat"}',
        ]
    )
    done = browser.post(f"/console/jobs/{worked_job.pk}/gold", {"lines": lines}, follow=True)
    assert "2 gold items added." in done.content.decode()
    assert done.context["gold_items"] == 2
    bad = browser.post(
        f"/console/jobs/{worked_job.pk}/gold", {"lines": '{"data": {}, "label": "emu"}'},
        follow=True,
    )  # fmt: skip
    assert "No gold items were added" in bad.content.decode()
