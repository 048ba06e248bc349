"""The LLM pairwise-preference task type through the API: a JSONL of prompts imported,
labelers answering with their tokens, Crowd-BT consolidation, and the exports parsed back."""

import csv
import io
import json

import pytest

from labeling.models import ConsolidatedLabel
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, SourceProblem
from labeling.task_ui.rendering import render_task
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
PROMPTS = [
    {
        "prompt": "Add two numbers in Python.",
        "response_a": "```python\ndef add(a, b):\n    return a + b\n```",
        "response_b": "Use JavaScript.",
        "truth": "A",
    },
    {
        "prompt": "Capital of France?",
        "response_a": "Berlin.",
        "response_b": "**Paris**.",
        "truth": "B",
    },
    {"prompt": "Say hi " + HOSTILE, "response_a": "Hi!", "response_b": "Hello!", "truth": "tie"},
    {"prompt": "2 + 2?", "response_a": "4", "response_b": "5", "truth": "A"},
]
KIND = get_task_type("llm-pairwise-preference")
FLIP = {"A": "B", "B": "A", "tie": "tie"}


def _body(response) -> bytes:
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content)


def test_items_and_answers_are_checked():
    KIND.check_source({"prompt": "p", "response_a": "a", "response_b": "b"})
    with pytest.raises(SourceProblem, match="response_b"):
        KIND.check_source({"prompt": "p", "response_a": "a"})
    with pytest.raises(SourceProblem, match="prompt"):
        KIND.check_source({"prompt": " ", "response_a": "a", "response_b": "b"})
    parsed = KIND.parse_answer({"preference": {"preference": "B", "strength": 3}}, [])
    assert parsed.answer == {"preference": "B", "strength": 3}
    assert KIND.parse_answer({"preference": "tie"}, []).answer == {
        "preference": "tie",
        "strength": 1,
    }
    for bad in (
        {"preference": "C"},
        {"preference": "A", "strength": 4},
        {"preference": "A", "strength": True},
        "A",
    ):
        with pytest.raises(AnswerProblem):
            KIND.parse_answer(bad, [])


def test_a_job_is_imported_answered_consolidated_and_exported(
    manager, manager_client, make_labeler, team, django_capture_on_commit_callbacks
):
    job = manager_client.post(
        "/api/v1/jobs",
        {
            "name": "prefs",
            "task_type": "llm-pairwise-preference",
            "labels": ["A", "B", "tie"],
            "team": team.pk,
            "workers_per_item": 3,
        },
        format="json",
    )
    assert job.status_code == 201, job.content
    job_id = job.data["id"]
    body = "".join(json.dumps(line) + "\n" for line in PROMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        imported = manager_client.post(
            f"/api/v1/jobs/{job_id}/items", body, content_type="application/x-ndjson"
        )
    assert imported.status_code == 202
    run = manager_client.get(f"/api/v1/imports/{imported.data['id']}").data
    assert run["status"] == "succeeded" and run["items_created"] == 4, run
    with django_capture_on_commit_callbacks(execute=True):
        bad = manager_client.post(
            f"/api/v1/jobs/{job_id}/items",
            '{"prompt": "only a prompt"}\n',
            content_type="application/x-ndjson",
        )
    failed = manager_client.get(f"/api/v1/imports/{bad.data['id']}").data
    assert failed["status"] == "failed" and "response_a" in json.dumps(failed["errors"]), failed
    assert manager_client.post(f"/api/v1/jobs/{job_id}/start").status_code == 200

    # Two reliable labelers and an adversary who answers the opposite with full strength.
    for name, honest in (("ann", True), ("ben", True), ("eve", False)):
        client = client_for(make_labeler(name))
        for _ in PROMPTS:
            lease = client.post(f"/api/v1/jobs/{job_id}/tasks/next")
            assert lease.status_code == 200, lease.content
            truth = lease.data["item"]["data"]["truth"]
            answer = {
                "preference": truth if honest else FLIP[truth],
                "strength": 2 if honest else 3,
            }
            submitted = client.post(
                f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
                {"answer": {"preference": answer}},
                format="json",
            )
            assert submitted.status_code == 201, submitted.content
        refused = client.post(f"/api/v1/jobs/{job_id}/tasks/next")
        assert refused.status_code == 204

    labels = {
        json.loads(c.item.data)["prompt"]: c
        for c in ConsolidatedLabel.objects.filter(job_id=job_id)
    }
    assert len(labels) == 4
    for line in PROMPTS:
        label = labels[line["prompt"]]
        assert label.method == "crowd-bradley-terry"
        assert label.value["preference"] == line["truth"], label.value
        assert label.label == line["truth"]
    two_to_one = labels["2 + 2?"]
    assert two_to_one.value["votes"] == {"A": 2, "B": 1, "tie": 0}
    assert two_to_one.value["strength"] == 2
    # The adversary's answers weigh less than a reliable one's: more than a 2/3 share.
    assert two_to_one.confidence > 2 / 3

    pairs = [
        json.loads(row)
        for row in _body(manager_client.get(f"/api/v1/jobs/{job_id}/export?format=preferences"))
        .decode()
        .splitlines()
    ]
    assert sorted(pairs, key=lambda p: p["prompt"]) == [
        {"prompt": "2 + 2?", "chosen": "4", "rejected": "5"},
        {
            "prompt": "Add two numbers in Python.",
            "chosen": PROMPTS[0]["response_a"],
            "rejected": "Use JavaScript.",
        },
        {"prompt": "Capital of France?", "chosen": "**Paris**.", "rejected": "Berlin."},
    ]  # the tie is no preference pair

    manifest = [
        json.loads(row)
        for row in _body(manager_client.get(f"/api/v1/jobs/{job_id}/export?format=manifest"))
        .decode()
        .splitlines()
    ]
    first = next(line for line in manifest if line["prompt"] == "Capital of France?")
    assert first["prefs"] == "B"
    assert first["prefs-metadata"]["type"] == "groundtruth/llm-pairwise-preference"
    assert first["prefs-metadata"]["p-a"] < 0.5
    rows = list(
        csv.DictReader(
            io.StringIO(
                _body(manager_client.get(f"/api/v1/jobs/{job_id}/export?format=csv")).decode()
            )
        )
    )
    assert sorted(r["label"] for r in rows) == ["A", "A", "B", "tie"]
    # A labeler may not export.
    assert client_for(make_labeler("zed")).get(
        f"/api/v1/jobs/{job_id}/export?format=preferences"
    ).status_code in (403, 404)


def test_the_builtin_ui_escapes_the_texts(make_job, manager, labeler):
    from labeling.services.assignments import assignment_claim
    from tests.conftest import import_lines

    job = make_job(
        items=0, start=False, task_type="llm-pairwise-preference", labels=["A", "B", "tie"]
    )
    import_lines(job, manager, [PROMPTS[2]])
    from labeling.services.jobs import job_start

    job_start(job=job, by=manager)
    lease = assignment_claim(job=job, worker=labeler)
    html = render_task(lease)
    assert "<crowd-pairwise-preference" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_preferences_export_is_refused_for_a_classification_job(make_job, manager):
    job = make_job()
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=preferences")
    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("not preferences")
