"""Who may do what through the API, and the one JSON shape of every error."""

import pytest
from rest_framework.test import APIClient

from labeling.services.jobs import job_stop
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _is_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


def test_anonymous_requests_are_refused_in_the_error_shape():
    _is_error(APIClient().get("/api/v1/jobs"), 401, "not_authenticated")


def test_a_bad_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    _is_error(client.get("/api/v1/jobs"), 401, "authentication_failed")


def test_labelers_cannot_manage(labeler_client, make_job, team):
    job = make_job(items=1)
    _is_error(labeler_client.post("/api/v1/teams", {"name": "x"}, format="json"), 403)
    _is_error(labeler_client.post("/api/v1/workers", {"username": "x"}, format="json"), 403)
    _is_error(labeler_client.post("/api/v1/jobs", {}, format="json"), 403)
    _is_error(labeler_client.post(f"/api/v1/jobs/{job.pk}/items", [], format="json"), 403)
    _is_error(labeler_client.post(f"/api/v1/jobs/{job.pk}/start"), 403)
    _is_error(labeler_client.get(f"/api/v1/jobs/{job.pk}/export"), 403)
    _is_error(labeler_client.get(f"/api/v1/jobs/{job.pk}/stats"), 403)


def test_managers_do_not_lease_tasks(manager_client, make_job):
    job = make_job(items=1)
    _is_error(manager_client.post(f"/api/v1/jobs/{job.pk}/tasks/next"), 403)


def test_labelers_see_only_jobs_of_their_teams(make_job, make_labeler):
    mine = make_job(items=1)
    outsider = client_for(make_labeler("zed", on_team=team_create(name="Elsewhere")))
    assert outsider.get("/api/v1/jobs").json() == []
    _is_error(outsider.get(f"/api/v1/jobs/{mine.pk}"), 404, "not_found")
    _is_error(outsider.post(f"/api/v1/jobs/{mine.pk}/tasks/next"), 404, "not_found")


def test_a_labeler_cannot_submit_or_skip_on_someone_elses_lease(make_job, make_labeler):
    job = make_job(items=1)
    owner, other = client_for(make_labeler("a")), client_for(make_labeler("b"))
    lease = owner.post(f"/api/v1/jobs/{job.pk}/tasks/next").data
    url = f"/api/v1/assignments/{lease['assignment_id']}"
    _is_error(
        other.post(f"{url}/submit", {"answer": {"label": "cat"}}, format="json"),
        403,
        "not_your_lease",
    )
    _is_error(other.post(f"{url}/skip"), 403, "not_your_lease")


def test_validation_errors_name_the_field(manager_client, team):
    response = manager_client.post(
        "/api/v1/jobs",
        {
            "name": "x",
            "task_type": "text-classification",
            "labels": ["a"],
            "team": team.pk,
            "workers_per_item": 12,
        },
        format="json",
    )
    _is_error(response, 400, "invalid")
    assert "workers_per_item" in response.json()["error"]["details"]["fields"]
    assert response.json()["error"]["message"].startswith("workers_per_item:")


def test_a_bad_answer_is_a_400_naming_the_labels(make_job, labeler_client):
    job = make_job(items=1)
    lease = labeler_client.post(f"/api/v1/jobs/{job.pk}/tasks/next").data
    response = labeler_client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"label": "emu"}},
        format="json",
    )
    _is_error(response, 400, "invalid")
    assert "cat, dog, bird" in response.json()["error"]["message"]


def test_an_unsupported_import_body_is_refused(manager_client, make_job):
    job = make_job(items=0, start=False)
    response = manager_client.post(
        f"/api/v1/jobs/{job.pk}/items", "x", content_type="application/xml"
    )
    _is_error(response, 400, "unsupported_media_type")


def test_importing_into_a_completed_job_is_refused(manager_client, make_job, manager):
    job = make_job(items=1)
    job_stop(job=job, by=manager)
    _is_error(
        manager_client.post(f"/api/v1/jobs/{job.pk}/items", [{"source": "x"}], format="json"),
        409,
        "job_closed",
    )


def test_an_unknown_api_address_is_a_json_404(manager_client):
    _is_error(manager_client.get("/api/v1/nothing-here"), 404, "not_found")


def test_the_schema_and_its_docs_page_are_served(manager_client):
    schema = manager_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].endswith("json") else {}
    assert "/api/v1/jobs/{job_id}/tasks/next" in paths or b"/tasks/next" in schema.content
    assert manager_client.get("/api/v1/docs").status_code == 200


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["status"] == "ok"
    assert response.json()["checks"]["broker"]["status"] == "ok"


def test_the_api_never_resets_an_existing_users_password(manager_client, manager):
    response = manager_client.post(
        "/api/v1/workers",
        {"username": manager.username, "role": "manager", "password": "taken-over-1"},
        format="json",
    )
    _is_error(response, 409, "user_exists")
    manager.refresh_from_db()
    assert manager.check_password("manager-pass-1")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/jobs/{job}/reviewers", {"user_id": 10**20}, "user_id"),
        ("/api/v1/jobs/{job}/template", {"template_id": 10**20}, "template_id"),
        ("/api/v1/jobs/{job}/template", {"template_id": 1, "version": 10**20}, "version"),
        ("/api/v1/jobs/{job}/chain", {"parent_id": 10**20}, "parent_id"),
        ("/api/v1/taxonomies", {"name": "t", "team_id": 10**20, "task_type":
                                "text-classification", "definition": {"labels": ["a"]}},
         "team_id"),
    ],
)  # fmt: skip
def test_an_id_past_the_databases_integers_in_a_body_is_a_400_naming_the_field(
    manager_client, make_job, path, body, field
):
    """SQLite's driver failed on such a number (a 500); no object has it (converters.py)."""
    job = make_job(items=1, start=False)
    response = manager_client.post(path.format(job=job.pk), body, format="json")
    _is_error(response, 400, "invalid")
    assert field in response.json()["error"]["details"]["fields"]


def test_an_id_past_the_databases_integers_in_the_hooks_body_is_a_400(manager_client, make_job):
    job = make_job(items=1, start=False)
    response = manager_client.put(
        f"/api/v1/jobs/{job.pk}/hooks", {"pre_hook": 10**20}, format="json"
    )
    _is_error(response, 400, "invalid")
    assert "pre_hook" in response.json()["error"]["details"]["fields"]
