"""Crowd, vendor and private workforces through the API, and the boundaries between them."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.models import Earning, TeamInvitation, TeamKind
from labeling.quality.services.gold import gold_items_add
from labeling.services.jobs import job_create, job_start
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db


def _token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _signup(name: str) -> APIClient:
    response = APIClient().post(
        "/api/v1/crowd/signup", {"username": name, "password": "crowd-pass-991"}, format="json"
    )
    assert response.status_code == 201, response.content
    return _token_client(response.json()["token"])


@pytest.fixture
def crowd_job(manager):
    team = team_create(name="Open crowd", kind=TeamKind.CROWD)
    job = job_create(
        created_by=manager, name="animals", task_type="text-classification",
        labels=["cat", "dog"], team=team, data_may_leave_private=True,
    )  # fmt: skip
    import_lines(job, manager, [{"source": f"animal {i}"} for i in range(4)])
    return job_start(job=job, by=manager)


def test_crowd_signup_marketplace_qualification_earnings_and_payouts(crowd_job, manager_client):
    gold_items_add(
        job=crowd_job,
        entries=[{"data": {"source": "meow"}, "label": "cat"},
                 {"data": {"source": "woof"}, "label": "dog"}],
        purpose="qualification",
    )  # fmt: skip
    published = manager_client.post(
        f"/api/v1/jobs/{crowd_job.pk}/publish",
        {"reward_cents": 7, "qualification_pass_mark": 1.0}, format="json",
    )  # fmt: skip
    assert published.status_code == 200, published.content

    worker = _signup("crowdy")
    (listed,) = worker.get("/api/v1/marketplace").json()
    assert listed["reward_cents"] == 7 and listed["qualification_test"] and not listed["joined"]
    # Not on the team yet, and the test stands between them and the work.
    assert worker.post(f"/api/v1/jobs/{crowd_job.pk}/tasks/next").status_code == 404
    joined = worker.post(f"/api/v1/marketplace/{crowd_job.pk}/join")
    assert joined.status_code == 403
    assert joined.json()["error"]["code"] == "qualification_required"

    questions = worker.get(f"/api/v1/marketplace/{crowd_job.pk}/qualification").json()
    assert [q["data"]["source"] for q in questions] == ["meow", "woof"]
    assert "cat" not in str(questions) and "label" not in str(questions)
    answers = {str(q["item_id"]): ("cat" if q["data"]["source"] == "meow" else "dog")
               for q in questions}  # fmt: skip
    result = worker.post(
        f"/api/v1/marketplace/{crowd_job.pk}/qualification", {"answers": answers}, format="json"
    )
    assert result.json() == {"questions": 2, "correct": 2, "passed": True}
    again = worker.post(
        f"/api/v1/marketplace/{crowd_job.pk}/qualification", {"answers": answers}, format="json"
    )
    assert again.status_code == 409

    for _ in range(3):
        lease = worker.post(f"/api/v1/jobs/{crowd_job.pk}/tasks/next").json()
        assert lease["item"]["data"]["source"].startswith("animal")  # never a test question
        submitted = worker.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            {"answer": {"label": "cat"}}, format="json",
        )  # fmt: skip
        assert submitted.status_code == 201
    earnings = worker.get("/api/v1/me/earnings").json()
    assert earnings["total_cents"] == 21 and earnings["jobs"][0]["tasks"] == 3
    assert Earning.objects.count() == 3

    report = manager_client.get("/api/v1/payouts.csv")
    assert report.status_code == 200 and report["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report.content.decode())))
    assert rows == [{"worker_id": rows[0]["worker_id"], "username": "crowdy", "email": "",
                     "tasks": "3", "amount_cents": "21"}]  # fmt: skip
    assert worker.get("/api/v1/payouts.csv").status_code == 403


def test_a_failed_test_keeps_the_worker_out(crowd_job, manager_client):
    gold_items_add(job=crowd_job, entries=[{"data": {"source": "meow"}, "label": "cat"}],
                   purpose="qualification")  # fmt: skip
    manager_client.post(
        f"/api/v1/jobs/{crowd_job.pk}/publish",
        {"reward_cents": 1, "qualification_pass_mark": 1.0}, format="json",
    )  # fmt: skip
    worker = _signup("guesser")
    (question,) = worker.get(f"/api/v1/marketplace/{crowd_job.pk}/qualification").json()
    result = worker.post(
        f"/api/v1/marketplace/{crowd_job.pk}/qualification",
        {"answers": {str(question["item_id"]): "dog"}}, format="json",
    )  # fmt: skip
    assert result.json()["passed"] is False
    assert worker.post(f"/api/v1/marketplace/{crowd_job.pk}/join").status_code == 403
    assert worker.post(f"/api/v1/jobs/{crowd_job.pk}/tasks/next").status_code == 404


def test_an_open_crowd_job_is_joined_at_once_and_private_jobs_never_show(
    crowd_job, manager_client, make_job
):
    private = make_job(items=1)
    manager_client.post(f"/api/v1/jobs/{crowd_job.pk}/publish", {"reward_cents": 0},
                        format="json")  # fmt: skip
    refused = manager_client.post(f"/api/v1/jobs/{private.pk}/publish", {"reward_cents": 5},
                                  format="json")  # fmt: skip
    assert refused.status_code == 400
    worker = _signup("opener")
    assert [job["id"] for job in worker.get("/api/v1/marketplace").json()] == [crowd_job.pk]
    assert worker.post(f"/api/v1/marketplace/{crowd_job.pk}/join").status_code == 200
    assert worker.post(f"/api/v1/jobs/{crowd_job.pk}/tasks/next").status_code == 200
    assert worker.post(f"/api/v1/jobs/{private.pk}/tasks/next").status_code == 404
    assert worker.post(f"/api/v1/marketplace/{private.pk}/join").status_code == 404
    assert worker.get(f"/api/v1/jobs/{private.pk}").status_code == 404


def test_vendor_managers_run_their_own_members_only(manager_client, manager, make_job):
    made = manager_client.post(
        "/api/v1/vendors",
        {"name": "Acme Labeling", "manager_username": "acme-boss",
         "manager_password": "acme-pass-771"}, format="json",
    )  # fmt: skip
    assert made.status_code == 201
    other = manager_client.post(
        "/api/v1/vendors",
        {"name": "Other Vendor", "manager_username": "other-boss",
         "manager_password": "other-pass-771"}, format="json",
    )  # fmt: skip
    boss = APIClient()
    boss.login(username="acme-boss", password="acme-pass-771")
    member = boss.post("/api/v1/vendor/members", {"username": "acme-1"}, format="json")
    assert member.status_code == 201
    listed = boss.get("/api/v1/vendor/members").json()
    assert listed["name"] == "Acme Labeling" and [m["username"] for m in listed["members"]] == [
        "acme-1"
    ]
    # A vendor manager is no project manager and no labeler.
    assert boss.get(f"/api/v1/jobs/{make_job(items=1).pk}/quality").status_code == 403
    assert boss.post("/api/v1/jobs", {}, format="json").status_code == 403
    assert boss.post("/api/v1/teams", {"name": "x"}, format="json").status_code == 403
    other_boss = APIClient()
    other_boss.login(username="other-boss", password="other-pass-771")
    gone = other_boss.delete(f"/api/v1/vendor/members/{member.json()['id']}")
    assert gone.status_code == 404  # not theirs to remove
    # A labeler of the vendor reaches a job only once a manager grants it to the vendor.
    job = job_create(
        created_by=manager, name="vendor work", task_type="text-classification",
        labels=["a", "b"], team=team_create(name="in-house"),
    )  # fmt: skip
    import_lines(job, manager, [{"source": "x"}])
    job_start(job=job, by=manager)
    acme_worker = _token_client(member.json()["token"])
    assert acme_worker.post(f"/api/v1/jobs/{job.pk}/tasks/next").status_code == 404
    grant = {"team": made.json()["team"]}
    refused = manager_client.post(f"/api/v1/jobs/{job.pk}/grant", grant, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "personal_data_rule"
    manager_client.patch(f"/api/v1/jobs/{job.pk}/quality", {"data_may_leave_private": True},
                         format="json")  # fmt: skip
    granted = manager_client.post(f"/api/v1/jobs/{job.pk}/grant", grant, format="json")
    assert granted.status_code == 200
    assert acme_worker.post(f"/api/v1/jobs/{job.pk}/tasks/next").status_code == 200
    other_team = other.json()["team"]
    assert other_team != made.json()["team"]


def test_invitation_links_join_a_private_team_until_they_expire(manager_client, make_job):
    job = make_job(items=2)
    link = manager_client.post(f"/api/v1/teams/{job.team_id}/invitations", {"hours": 2},
                               format="json")  # fmt: skip
    assert link.status_code == 201
    accepted = APIClient().post(
        link.json()["accept_url"], {"username": "invited", "password": "invited-pass-55"},
        format="json",
    )  # fmt: skip
    assert accepted.status_code == 200
    invited = _token_client(accepted.json()["token"])
    assert invited.post(f"/api/v1/jobs/{job.pk}/tasks/next").status_code == 200

    TeamInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    late = APIClient().post(
        link.json()["accept_url"], {"username": "late", "password": "late-pass-5555"},
        format="json",
    )  # fmt: skip
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invitation_expired"
    bogus = APIClient().post("/api/v1/invitations/nope/accept", {}, format="json")
    assert bogus.status_code == 404


def test_labelers_cannot_create_invitations_publish_or_grant(labeler, make_job):
    job = make_job(items=1)
    client = client_for(labeler)
    assert client.post(f"/api/v1/teams/{job.team_id}/invitations", {}).status_code == 403
    assert client.post(f"/api/v1/jobs/{job.pk}/publish", {"reward_cents": 1}).status_code == 403
    assert client.post(f"/api/v1/jobs/{job.pk}/grant", {"team": job.team_id}).status_code == 403
    assert client.post("/api/v1/vendors", {}).status_code == 403
    assert client.get("/api/v1/vendor/members").status_code == 403
