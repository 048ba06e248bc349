"""The quality API and its boundaries: gold never shown to labelers, paused workers refused,
the personal-data rule, and who may see what across private, crowd and vendor teams."""

import json

import pytest
from django.test import Client

from labeling.models import Role, TeamKind
from labeling.quality.services.gold import gold_items_add
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_create, job_start
from labeling.services.users import user_create
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db

GOLD_TEXT = "a sentence about a parrot"


@pytest.fixture
def gold_job(make_job, manager):
    """One gold item, then three ordinary ones: in queue order the gold comes first."""
    job = make_job(items=0, workers_per_item=1, start=False)
    gold_items_add(job=job, entries=[{"data": {"source": GOLD_TEXT}, "label": "bird"}])
    import_lines(job, manager, [{"source": f"text {i}", "n": i} for i in range(3)])
    job_start(job=job, by=manager)
    job.refresh_from_db()
    return job


def _everything_a_labeler_sees(client, job, assignment_id) -> str:
    """Every labeler-facing response about the job and the lease, as one text."""
    texts = []
    for url in (
        "/api/v1/jobs",
        f"/api/v1/jobs/{job.pk}",
        f"/api/v1/jobs/{job.pk}/tasks/mine",
        "/api/v1/teams",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        texts.append(response.content.decode())
    return "\n".join(texts)


def test_a_gold_lease_looks_exactly_like_an_ordinary_one(gold_job, labeler):
    client = client_for(labeler)
    job_quality_configure(job=gold_job, gold_rate=1.0)
    gold = client.post(f"/api/v1/jobs/{gold_job.pk}/tasks/next")
    assert gold.status_code == 200
    assert gold.json()["item"]["data"] == {"source": GOLD_TEXT}
    seen = _everything_a_labeler_sees(client, gold_job, gold.json()["assignment_id"])
    browser = Client()  # the web task page of the gold lease
    browser.force_login(labeler)
    page = browser.get(f"/work/assignments/{gold.json()['assignment_id']}/ui")
    assert page.status_code == 200
    assert GOLD_TEXT in page.content.decode()
    assert "gold" not in page.content.decode().lower()
    submitted = client.post(
        f"/api/v1/assignments/{gold.json()['assignment_id']}/submit",
        {"answer": {"label": "cat"}},
        format="json",
    )
    assert submitted.status_code == 201
    job_quality_configure(job=gold_job, gold_rate=0.0)
    plain = client.post(f"/api/v1/jobs/{gold_job.pk}/tasks/next")
    assert plain.status_code == 200

    assert set(gold.json()) == set(plain.json())
    assert set(gold.json()["item"]) == set(plain.json()["item"])
    assert set(submitted.json()) == {"id", "assignment_id", "item_id", "answer", "submitted_at",
                                     "time_spent_seconds"}  # fmt: skip
    everything = "\n".join([gold.content.decode(), submitted.content.decode(), seen])
    assert "gold" not in everything.lower()
    assert "bird" not in submitted.content.decode()  # the known answer is never echoed


def test_labelers_cannot_reach_any_quality_endpoint(gold_job, labeler):
    client = client_for(labeler)
    for method, url, body in (
        ("get", f"/api/v1/jobs/{gold_job.pk}/quality", None),
        ("patch", f"/api/v1/jobs/{gold_job.pk}/quality", {"gold_rate": 0.5}),
        ("post", f"/api/v1/jobs/{gold_job.pk}/gold", [{"data": {"source": "x"}, "label": "cat"}]),
        ("get", f"/api/v1/jobs/{gold_job.pk}/review", None),
        ("post", f"/api/v1/jobs/{gold_job.pk}/quality/reestimate", None),
    ):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (url, response.content)


def test_a_paused_worker_cannot_lease_and_is_told_why(gold_job, labeler):
    job_quality_configure(job=gold_job, gold_rate=1.0, gold_min_answers=1, gold_pause_below=0.5)
    lease = assignment_claim(job=gold_job, worker=labeler)
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    response = client_for(labeler).post(f"/api/v1/jobs/{gold_job.pk}/tasks/next")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "paused_on_job"
    assert "paused" in error["message"] and "0%" in error["message"]


def test_the_manager_sees_quality_and_can_resume_a_worker(gold_job, labeler, manager_client):
    job_quality_configure(job=gold_job, gold_rate=1.0, gold_min_answers=1, gold_pause_below=0.5)
    lease = assignment_claim(job=gold_job, worker=labeler)
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    body = manager_client.get(f"/api/v1/jobs/{gold_job.pk}/quality").json()
    assert body["gold_items"] == 1
    (row,) = body["workers"]
    assert row["paused"] and row["gold_accuracy"] == 0.0
    resumed = manager_client.post(f"/api/v1/jobs/{gold_job.pk}/workers/{labeler.pk}/resume")
    assert resumed.status_code == 200
    assert client_for(labeler).post(f"/api/v1/jobs/{gold_job.pk}/tasks/next").status_code == 200


def test_review_queue_lists_low_confidence_items_and_takes_a_final_label(
    make_job, make_labeler, manager_client
):
    job = make_job(items=1, workers_per_item=2)
    for name, label in (("r1", "cat"), ("r2", "dog")):
        worker = make_labeler(name)
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    (spot,) = manager_client.get(f"/api/v1/jobs/{job.pk}/review").json()
    assert spot["confidence"] == 0.5 and spot["data"]["source"] == "text 0"
    done = manager_client.post(
        f"/api/v1/jobs/{job.pk}/items/{spot['item_id']}/final-label", {"label": "dog"},
        format="json",
    )  # fmt: skip
    assert done.status_code == 200
    assert manager_client.get(f"/api/v1/jobs/{job.pk}/review").json() == []


# --- The personal-data rule ----------------------------------------------------------------


def _job_payload(team_id, **extra):
    return {"name": "crowd job", "task_type": "text-classification", "labels": ["a", "b"],
            "team": team_id, **extra}  # fmt: skip


@pytest.mark.parametrize("kind", [TeamKind.CROWD, TeamKind.VENDOR])
def test_a_job_without_the_statement_never_goes_to_crowd_or_vendor(manager_client, kind):
    team = manager_client.post("/api/v1/teams", {"name": "outside", "kind": kind}, format="json")
    assert team.status_code == 201
    refused = manager_client.post("/api/v1/jobs", _job_payload(team.json()["id"]), format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "personal_data_rule"
    assert "private" in refused.json()["error"]["message"]
    allowed = manager_client.post(
        "/api/v1/jobs", _job_payload(team.json()["id"], data_may_leave_private=True),
        format="json",
    )  # fmt: skip
    assert allowed.status_code == 201
    withdrawn = manager_client.patch(
        f"/api/v1/jobs/{allowed.json()['id']}/quality", {"data_may_leave_private": False},
        format="json",
    )  # fmt: skip
    assert withdrawn.status_code == 400
    assert withdrawn.json()["error"]["code"] == "personal_data_rule"


def test_the_console_refuses_with_the_reason(manager):
    team = team_create(name="The crowd", kind=TeamKind.CROWD)
    browser = Client()
    browser.force_login(manager)
    page = browser.post(
        "/console/jobs/new",
        {"name": "faces", "task_type": "text-classification", "labels": "a\nb",
         "team": team.pk, "workers_per_item": 1, "task_time_limit_seconds": 300,
         "availability_lifetime_hours": 24, "max_concurrent_tasks_per_worker": 1},
    )  # fmt: skip
    assert page.status_code == 200
    assert "can only go to a private team" in page.content.decode()


# --- Private, crowd and vendor workers -----------------------------------------------------


def test_workers_reach_only_the_jobs_of_their_own_workforce(manager):
    teams = {
        kind: team_create(name=f"{kind} team", kind=kind)
        for kind in (TeamKind.PRIVATE, TeamKind.CROWD, TeamKind.VENDOR)
    }
    jobs, clients = {}, {}
    for kind, team in teams.items():
        job = job_create(
            created_by=manager, name=f"{kind} job", task_type="text-classification",
            labels=["a", "b"], team=team, data_may_leave_private=kind != TeamKind.PRIVATE,
        )  # fmt: skip
        import_lines(job, manager, [{"source": "x"}])
        jobs[kind] = job_start(job=job, by=manager)
        worker, _, _ = user_create(username=f"{kind}-worker", role=Role.LABELER, team=team)
        clients[kind] = client_for(worker)
    for kind, client in clients.items():
        visible = {job["name"] for job in client.get("/api/v1/jobs").json()}
        assert visible == {f"{kind} job"}
        for other, job in jobs.items():
            response = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
            expected = 200 if other == kind else 404
            assert response.status_code == expected, (kind, other, response.content)
            assert client.get(f"/api/v1/jobs/{job.pk}/quality").status_code == 403
            if other != kind:
                assert json.loads(client.get(f"/api/v1/jobs/{job.pk}").content)["error"]
