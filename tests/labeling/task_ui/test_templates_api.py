"""Custom templates through the API: versions, preview errors, a job's task UI, media URLs."""

import pytest
from django.test import Client

from labeling.models import CustomTemplateVersion
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.task_ui.media import grant_read_access
from labeling.task_ui.rendering import TaskRenderError, render_task
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db

SOURCE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="category" categories="['Dog', 'Cat']"
      header="{{ task.input.question | default: 'What is it?' }}">
    <classification-target>
      <img src="{{ task.input.taskObject | grant_read_access }}">
    </classification-target>
  </crowd-classifier>
</crowd-form>
"""


def test_create_save_and_read_versions(manager_client):
    response = manager_client.post(
        "/api/v1/templates", {"name": "Pets", "source": SOURCE}, format="json"
    )
    assert response.status_code == 201, response.json()
    template_id = response.json()["id"]
    assert response.json()["latest_version"] == 1
    response = manager_client.post(
        f"/api/v1/templates/{template_id}/versions",
        {"source": SOURCE.replace("What is it?", "Which pet?"), "sample": {"question": "Q"}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["number"] == 2
    detail = manager_client.get(f"/api/v1/templates/{template_id}").json()
    assert detail["latest_version"] == 2
    assert "Which pet?" in detail["latest"]["source"]
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    first = manager_client.get(f"/api/v1/templates/{template_id}/versions/1").json()
    assert "What is it?" in first["source"]


def test_a_broken_template_is_refused_with_line_and_column(manager_client):
    response = manager_client.post(
        "/api/v1/templates/preview",
        {"source": "<p>\n  {% if task.input.x %}\n", "sample": {"x": 1}},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_error"
    assert error["details"] == {"kind": "syntax", "line": 2, "column": 3}
    assert error["message"].startswith("line 2, column 3:")
    response = manager_client.post(
        "/api/v1/templates", {"name": "Bad", "source": "{{ settings.X }}"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["kind"] == "render"


def test_preview_renders_the_sample(manager_client):
    response = manager_client.post(
        "/api/v1/templates/preview",
        {"source": SOURCE, "sample": {"source-ref": "pets/dog.jpg", "question": "Pet?"}},
        format="json",
    )
    assert response.status_code == 200
    html = response.json()["html"]
    assert 'header="Pet?"' in html
    assert "/api/v1/media/signed/" in html
    assert "/work/frame-assets/elements/index.js" in html


def test_labelers_cannot_write_templates(labeler_client):
    response = labeler_client.post("/api/v1/templates", {"name": "x", "source": "x"}, format="json")
    assert response.status_code == 403


def test_a_job_renders_its_custom_template(make_job, manager, manager_client, labeler, settings):
    job = make_job(items=0, start=False, task_type="custom", labels=["Dog", "Cat"])
    import_lines(job, manager, [{"source-ref": "pets/dog.jpg", "question": "Which pet?"}])
    template_id = manager_client.post(
        "/api/v1/templates", {"name": "Pets", "source": SOURCE}, format="json"
    ).json()["id"]
    response = manager_client.post(
        f"/api/v1/jobs/{job.pk}/template", {"template_id": template_id}, format="json"
    )
    assert response.status_code == 200, response.json()
    job_start(job=job, by=manager)
    lease = assignment_claim(job=job, worker=labeler)
    html = render_task(lease)
    assert 'header="Which pet?"' in html
    assert "assets.crowd.aws" not in html

    # The signed URL serves the image to whoever holds it, without a session.
    (settings.MEDIA_ROOT / "pets").mkdir()
    (settings.MEDIA_ROOT / "pets" / "dog.jpg").write_bytes(b"\xff\xd8not-really-a-jpeg")
    url = html.split('<img src="')[1].split('"')[0]
    response = Client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\xff\xd8not-really-a-jpeg"

    # The answer of a custom template is what its crowd-form submits.
    response = client_for(labeler).post(
        f"/api/v1/assignments/{lease.pk}/submit",
        {"answer": {"category": {"label": "Dog"}}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    export = b"".join(
        manager_client.get(f"/api/v1/jobs/{job.pk}/export").streaming_content
    ).decode()
    assert f'"{job.label_attribute_name}":{{"category":{{"label":"Dog"}}}}' in export

    # A started job keeps its template.
    response = manager_client.post(
        f"/api/v1/jobs/{job.pk}/template", {"template_id": template_id}, format="json"
    )
    assert response.status_code == 409


def test_signed_media_urls_expire_and_refuse_forgery(settings):
    (settings.MEDIA_ROOT / "a.txt").write_bytes(b"x")
    fresh = grant_read_access("a.txt")
    assert Client().get(fresh).status_code == 200
    stale = grant_read_access("a.txt", now=0)
    response = Client().get(stale)
    assert response.status_code == 404
    assert "expired" in response.json()["error"]["message"]
    assert Client().get(fresh[:-3] + "abc").status_code == 404
    outside = grant_read_access("../../etc/passwd")
    assert Client().get(outside).status_code == 404


def test_versions_are_numbered_per_template(manager, manager_client):
    for name in ("A", "B"):
        manager_client.post("/api/v1/templates", {"name": name, "source": "x"}, format="json")
    assert sorted(CustomTemplateVersion.objects.values_list("number", flat=True)) == [1, 1]


def test_a_custom_job_without_a_template_says_so(make_job, labeler):
    job = make_job(items=1, task_type="custom", labels=["x"])
    with pytest.raises(TaskRenderError, match="no task template yet"):
        render_task(assignment_claim(job=job, worker=labeler))
