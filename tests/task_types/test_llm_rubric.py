"""LLM rubric rating: the weighted medians (pure, on simulated raters) and a job through the
API (JSONL import, labelers' answers, weighted consolidation, exports parsed back)."""

import csv
import io
import json

import numpy as np
import pytest

from labeling.consolidation.rubric import item_scores, rubric_fit, weighted_median
from labeling.models import ConsolidatedLabel
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, SourceProblem
from tests.conftest import client_for

KIND = get_task_type("llm-rubric-rating")
CRITERIA = ["helpful", "correct"]


def test_weighted_median_and_item_scores():
    assert weighted_median(np.array([1, 5, 4]), np.ones(3)) == 4
    assert weighted_median(np.array([1, 5, 4]), np.array([10.0, 1, 1])) == 1
    medians, confidence = item_scores(np.array([[4, 2], [5, 2], [1, 5]]))
    assert medians.tolist() == [4, 2]
    assert confidence.tolist() == [pytest.approx(2 / 3), pytest.approx(2 / 3)]


def test_the_fit_weighs_spammers_and_adversaries_less_and_recovers_the_truth():
    rng = np.random.default_rng(3)
    n_items, per_item = 300, 5
    truth = rng.integers(1, 6, (n_items, 2)).astype(float)
    kinds = ["good"] * 8 + ["spammer"] * 6 + ["adversary"] * 3
    items, workers, scores = [], [], []
    for i in range(n_items):
        for w in rng.choice(len(kinds), per_item, replace=False):
            if kinds[w] == "good":
                row = np.clip(truth[i] + rng.integers(-1, 2, 2), 1, 5)
            elif kinds[w] == "spammer":
                row = rng.integers(1, 6, 2).astype(float)
            else:
                row = 6 - truth[i]
            items.append(i)
            workers.append(w)
            scores.append(row)
    items, workers, scores = np.array(items), np.array(workers), np.array(scores)
    fit = rubric_fit(items, workers, scores, n_items=n_items, n_workers=len(kinds))
    assert fit.weight[:8].min() > 2 * fit.weight[8:].max()
    plain = np.array([item_scores(scores[items == i])[0] for i in range(n_items)])
    plain_error = np.abs(plain - truth).mean()
    weighted_error = np.abs(fit.consensus - truth).mean()
    assert weighted_error < 0.8 * plain_error, (plain_error, weighted_error)


def test_answers_and_items_are_checked():
    KIND.check_source({"prompt": "p", "response": "r"})
    with pytest.raises(SourceProblem, match="response"):
        KIND.check_source({"prompt": "p"})
    parsed = KIND.parse_answer({"rubric": {"ratings": {"correct": 2, "helpful": 5}}}, CRITERIA)
    assert parsed.answer == {"ratings": {"helpful": 5, "correct": 2}, "rationale": ""}
    for bad in (
        {"ratings": {"helpful": 5}},
        {"ratings": {"helpful": 5, "correct": 6}},
        {"ratings": {"helpful": 5, "correct": 2, "style": 1}},
        {"ratings": {"helpful": True, "correct": 2}},
        {"ratings": {"helpful": 5, "correct": 2}, "rationale": 3},
    ):
        with pytest.raises(AnswerProblem):
            KIND.parse_answer(bad, CRITERIA)


@pytest.mark.django_db
def test_a_rubric_job_through_the_api(
    manager_client, make_labeler, team, django_capture_on_commit_callbacks
):
    job = manager_client.post(
        "/api/v1/jobs",
        {
            "name": "rubric",
            "task_type": "llm-rubric-rating",
            "labels": CRITERIA,
            "team": team.pk,
            "workers_per_item": 3,
        },
        format="json",
    )
    assert job.status_code == 201, job.content
    job_id = job.data["id"]
    lines = [
        {"prompt": "2 + 2?", "response": "4", "truth": [5, 5]},
        {"prompt": "Capital of France?", "response": "Lyon", "truth": [2, 1]},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        imported = manager_client.post(
            f"/api/v1/jobs/{job_id}/items",
            "".join(json.dumps(line) + "\n" for line in lines),
            content_type="application/x-ndjson",
        )
    assert imported.status_code == 202
    assert manager_client.post(f"/api/v1/jobs/{job_id}/start").status_code == 200
    for name, shift in (("ann", 0), ("ben", 0), ("eve", None)):
        client = client_for(make_labeler(name))
        for _ in lines:
            lease = client.post(f"/api/v1/jobs/{job_id}/tasks/next")
            truth = lease.data["item"]["data"]["truth"]
            scores = truth if shift is not None else [6 - s for s in truth]
            submitted = client.post(
                f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
                {"answer": {"rubric": {"ratings": dict(zip(CRITERIA, scores, strict=True)),
                                       "rationale": f"{name} says so"}}},
                format="json",
            )  # fmt: skip
            assert submitted.status_code == 201, submitted.content
    labels = {
        json.loads(c.item.data)["prompt"]: c
        for c in ConsolidatedLabel.objects.filter(job_id=job_id)
    }
    france = labels["Capital of France?"]
    assert france.method == "rubric-weighted-median"
    assert france.value["ratings"] == {"helpful": 2, "correct": 1}
    assert sorted(france.value["rationales"]) == ["ann says so", "ben says so", "eve says so"]
    assert labels["2 + 2?"].value["ratings"] == {"helpful": 5, "correct": 5}

    def body(fmt):
        response = manager_client.get(f"/api/v1/jobs/{job_id}/export?format={fmt}")
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode()

    manifest = {json.loads(row)["prompt"]: json.loads(row) for row in body("manifest").splitlines()}
    assert manifest["2 + 2?"]["rubric"] == {"helpful": 5, "correct": 5}
    assert manifest["2 + 2?"]["rubric-metadata"]["type"] == "groundtruth/llm-rubric-rating"
    rows = list(csv.DictReader(io.StringIO(body("csv"))))  # in item order
    assert [json.loads(r["label"]) for r in rows] == [
        {"correct": 5, "helpful": 5},
        {"correct": 1, "helpful": 2},
    ]
