"""Bodies over their endpoint's limit are refused from Content-Length, unread (issue 12)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def claim(client, url, *, claimed: int, content_type: str, body: bytes = b"{}"):
    """POST a tiny body whose Content-Length header claims ``claimed`` bytes. The test
    client's stream fails on a read past the real body, so a 413 proves nothing read it."""
    return client.generic(
        "POST", url, data=body, content_type=content_type, CONTENT_LENGTH=str(claimed)
    )


def assert_refused(response, limit: int):
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert error["details"] == {"limit": limit, "content_length": limit + 1}


def test_imports_are_refused_over_the_import_limit(make_job, manager_client, settings):
    settings.QUORUM_IMPORT_MAX_BYTES = 1000
    job = make_job(items=0, start=False)
    for path, content_type in (
        (f"/api/v1/jobs/{job.pk}/items", "application/x-ndjson"),
        (f"/api/v1/jobs/{job.pk}/items", "multipart/form-data; boundary=x"),
        (f"/api/v1/jobs/{job.pk}/images", "multipart/form-data; boundary=x"),
        (f"/api/v1/jobs/{job.pk}/videos", "multipart/form-data; boundary=x"),
    ):
        assert_refused(claim(manager_client, path, claimed=1001, content_type=content_type), 1000)
    # Under the limit the import goes on as before.
    fine = manager_client.post(
        f"/api/v1/jobs/{job.pk}/items",
        data=b'{"source": "a"}\n',
        content_type="application/x-ndjson",
    )
    assert fine.status_code == 202, fine.content


def test_answers_and_templates_are_refused_over_the_request_limit(
    make_job, labeler_client, manager_client, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5000
    settings.QUORUM_IMPORT_MAX_BYTES = 10**9  # the import limit does not apply here
    job = make_job(items=1)
    lease = labeler_client.post(f"/api/v1/jobs/{job.pk}/tasks/next").json()
    submit = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    assert_refused(
        claim(labeler_client, submit, claimed=5001, content_type="application/json"), 5000
    )
    assert_refused(
        claim(manager_client, "/api/v1/templates", claimed=5001, content_type="application/json"),
        5000,
    )
    # The console's forms too: the answer comes before the CSRF check reads the form.
    web = Client()
    web.force_login(job.created_by)
    assert_refused(
        claim(web, "/console/", claimed=5001, content_type="application/x-www-form-urlencoded"),
        5000,
    )
