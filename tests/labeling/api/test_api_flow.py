"""The REST API end to end: a manager sets up a job, labelers work it, the manager exports."""

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from labeling.serializers import AnnotationOut, LeaseOut, annotation_payload, lease_payload
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_the_whole_loop_through_the_api(manager_client, django_capture_on_commit_callbacks):
    team = manager_client.post("/api/v1/teams", {"name": "Reviewers"}, format="json")
    assert team.status_code == 201, team.content
    tokens = []
    for name in ("ann", "ben", "cid"):
        made = manager_client.post(
            "/api/v1/workers", {"username": name, "team": team.data["id"]}, format="json"
        )
        assert made.status_code == 201 and made.data["role"] == "labeler"
        tokens.append(made.data["token"])
    job = manager_client.post(
        "/api/v1/jobs",
        {
            "name": "sentiment",
            "task_type": "text-classification",
            "labels": ["pos", "neg"],
            "team": team.data["id"],
            "workers_per_item": 3,
            "examples": [{"kind": "good", "source": "great", "label": "pos"}],
        },
        format="json",
    )
    assert job.status_code == 201, job.content
    job_id = job.data["id"]
    body = '{"source": "I love it", "ref": 1}\n{"source": "Awful", "ref": 2}\n'
    with django_capture_on_commit_callbacks(execute=True):
        imported = manager_client.post(
            f"/api/v1/jobs/{job_id}/items", body, content_type="application/x-ndjson"
        )
    assert imported.status_code == 202
    run = manager_client.get(f"/api/v1/imports/{imported.data['id']}")
    assert run.data["status"] == "succeeded" and run.data["items_created"] == 2
    assert run.data["progress"]["fraction"] == 1.0
    assert manager_client.post(f"/api/v1/jobs/{job_id}/start").data["status"] == "in_progress"

    for token, labels in zip(tokens, (["pos", "neg"], ["pos", "pos"], ["neg", "neg"]), strict=True):
        labeler = APIClient()
        labeler.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        for label in labels:
            lease = labeler.post(f"/api/v1/jobs/{job_id}/tasks/next")
            assert lease.status_code == 200
            text = lease.data["item"]["data"]["source"]
            chosen = label if text == "I love it" else labels[1]
            submitted = labeler.post(
                f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
                {"answer": {"label": chosen}},
                format="json",
            )
            assert submitted.status_code == 201, submitted.content
        assert labeler.post(f"/api/v1/jobs/{job_id}/tasks/next").status_code == 204

    detail = manager_client.get(f"/api/v1/jobs/{job_id}").data
    assert detail["status"] == "completed"
    assert detail["counts"]["items_labeled"] == 2 and detail["counts"]["answers_total"] == 6

    manifest = _body(manager_client.get(f"/api/v1/jobs/{job_id}/export?format=manifest"))
    lines = [json.loads(line) for line in manifest.decode().splitlines()]
    assert [line["ref"] for line in lines] == [1, 2]
    first = lines[0]
    assert first["sentiment"] == 0
    metadata = first["sentiment-metadata"]
    assert metadata["class-name"] == "pos"
    assert metadata["confidence"] == pytest.approx(2 / 3, abs=1e-6)
    assert metadata["type"] == "groundtruth/text-classification"
    assert metadata["job-name"] == "labeling-job/sentiment"
    assert metadata["human-annotated"] == "yes"
    assert metadata["creation-date"]
    assert lines[1]["sentiment-metadata"]["class-name"] == "neg"

    rows = list(
        csv.DictReader(
            io.StringIO(
                _body(manager_client.get(f"/api/v1/jobs/{job_id}/export?format=csv")).decode()
            )
        )
    )
    assert [(r["source"], r["label"], r["human_annotated"]) for r in rows] == [
        ("I love it", "pos", "yes"),
        ("Awful", "neg", "yes"),
    ]
    stats = manager_client.get(f"/api/v1/jobs/{job_id}/stats").data
    assert sorted(w["answers"] for w in stats["workers"]) == [2, 2, 2]
    assert all(w["median_seconds"] is not None for w in stats["workers"])
    assert {row["label"]: row["count"] for row in stats["labels"]} == {"pos": 1, "neg": 1}


def test_a_json_array_body_imports_too(manager_client, make_job):
    job = make_job(items=0, start=False)
    response = manager_client.post(f"/api/v1/jobs/{job.pk}/items", [{"source": "x"}], format="json")
    assert response.status_code == 202
    assert response.data["job"] == job.pk


def test_unlabeled_items_export_as_they_came_in(manager_client, make_job):
    job = make_job(items=2)
    manifest = _body(manager_client.get(f"/api/v1/jobs/{job.pk}/export"))
    assert [json.loads(line) for line in manifest.decode().splitlines()] == [
        {"source": "text 0", "n": 0},
        {"source": "text 1", "n": 1},
    ]
    only = _body(manager_client.get(f"/api/v1/jobs/{job.pk}/export?labeled=only"))
    assert only == b""


def test_a_labeler_resumes_a_held_lease(make_job, labeler):
    job = make_job(items=2)
    client = client_for(labeler)
    lease = client.post(f"/api/v1/jobs/{job.pk}/tasks/next").data
    refused = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert refused.status_code == 409
    assert refused.data["error"]["details"]["assignments"] == [lease["assignment_id"]]
    mine = client.get(f"/api/v1/jobs/{job.pk}/tasks/mine").data
    assert [m["assignment_id"] for m in mine] == [lease["assignment_id"]]
    skipped = client.post(f"/api/v1/assignments/{lease['assignment_id']}/skip")
    assert skipped.data["status"] == "skipped"


def test_stats_list_workers_who_only_skipped(manager_client, make_job, labeler_client):
    job = make_job(items=1)
    lease = labeler_client.post(f"/api/v1/jobs/{job.pk}/tasks/next").data
    labeler_client.post(f"/api/v1/assignments/{lease['assignment_id']}/skip")
    workers = manager_client.get(f"/api/v1/jobs/{job.pk}/stats").data["workers"]
    assert [(w["username"], w["answers"], w["skips"], w["median_seconds"]) for w in workers] == [
        ("lab1", 0, 1, None)
    ]


def test_the_hot_endpoints_bodies_match_their_documented_serializers(make_job, labeler):
    job = make_job(items=1, labels=["a", "b"])
    lease = assignment_claim(job=job, worker=labeler)
    as_json = lambda body: json.loads(json.dumps(body))  # noqa: E731 - both sides alike
    assert as_json(lease_payload(lease)) == as_json(LeaseOut(lease).data)
    annotation = annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "b"})
    assert as_json(annotation_payload(annotation)) == as_json(AnnotationOut(annotation).data)
