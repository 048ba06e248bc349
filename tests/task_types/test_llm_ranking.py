"""LLM ranking: the Borda aggregation (pure) and a job through the API (JSONL import,
labelers' answers in the crowd-text-ranking element's shape, consolidation, exports)."""

import json

import numpy as np
import pytest

from labeling.consolidation.ranking import aggregate_ranks
from labeling.models import Assignment, ConsolidatedLabel
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, SourceProblem
from labeling.task_ui.rendering import render_task
from tests.conftest import client_for

KIND = get_task_type("llm-ranking")


def test_borda_with_ties_and_the_pairwise_confidence():
    ranks, confidence = aggregate_ranks(np.array([[1, 2, 3], [1, 3, 2], [2, 1, 3]]))
    assert ranks == [1, 2, 3]
    assert confidence == pytest.approx(7 / 9)  # 3 + 2 + 2 of 9 (answer, pair) orders agree
    ranks, confidence = aggregate_ranks(np.array([[1, 1, 2], [1, 1, 2]]))
    assert ranks == [1, 1, 2] and confidence == 1.0
    with pytest.raises(ValueError):
        aggregate_ranks(np.zeros((0, 3)))


def test_items_and_answers_are_checked():
    KIND.check_source({"prompt": "p", "responses": ["a", "b"]})
    for bad in ({"prompt": "p", "responses": ["a"]}, {"prompt": "p", "responses": ["a", ""]}):
        with pytest.raises(SourceProblem):
            KIND.check_source(bad)
    element = {
        "ranking": {
            "ordinalRankingDimensions": [{"name": "clarity", "allowTie": True, "ranks": [2, 1]}]
        }
    }
    assert KIND.parse_answer(element, ["clarity"]).answer == {"ranks": {"clarity": [2, 1]}}
    for bad in ({"ranks": {}}, {"ranks": {"clarity": [3, 1]}}, {"ranks": {"clarity": [1, True]}}):
        with pytest.raises(AnswerProblem):
            KIND.parse_answer(bad, ["clarity"])
    with pytest.raises(AnswerProblem, match="3 responses"):
        KIND.check_answer_for_item({"ranks": {"clarity": [1, 2]}}, {"responses": ["a", "b", "c"]})


@pytest.mark.django_db
def test_a_ranking_job_through_the_api(
    manager_client, make_labeler, team, django_capture_on_commit_callbacks
):
    job = manager_client.post(
        "/api/v1/jobs",
        {
            "name": "ranking",
            "task_type": "llm-ranking",
            "labels": ["clarity", "accuracy"],
            "team": team.pk,
            "workers_per_item": 3,
        },
        format="json",
    )
    assert job.status_code == 201, job.content
    job_id = job.data["id"]
    line = {"prompt": "Why is the sky blue?", "responses": ["Rayleigh.", "Magic.", "Light."]}
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            f"/api/v1/jobs/{job_id}/items",
            json.dumps(line) + "\n",
            content_type="application/x-ndjson",
        )
    assert manager_client.post(f"/api/v1/jobs/{job_id}/start").status_code == 200
    given = [
        {"clarity": [1, 3, 2], "accuracy": [1, 3, 2]},
        {"clarity": [1, 2, 1], "accuracy": [1, 3, 2]},
        {"clarity": [2, 3, 1], "accuracy": [1, 2, 3]},
    ]
    for name, ranks in zip(("ann", "ben", "cid"), given, strict=True):
        client = client_for(make_labeler(name))
        lease = client.post(f"/api/v1/jobs/{job_id}/tasks/next")
        if name == "ann":  # the built-in UI: the element with every dimension allowing ties
            html = render_task(Assignment.objects.get(pk=lease.data["assignment_id"]))
            assert "<crowd-text-ranking" in html
            assert (
                'ordinal-ranking-dimensions=\'[{"name": "clarity", "allowTie": true}, '
                '{"name": "accuracy", "allowTie": true}]\'' in html
            )
        dimensions = [{"name": d, "allowTie": True, "ranks": r} for d, r in ranks.items()]
        submitted = client.post(
            f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
            {"answer": {"ranking": {"ordinalRankingDimensions": dimensions}}},
            format="json",
        )
        assert submitted.status_code == 201, submitted.content
    label = ConsolidatedLabel.objects.get(job_id=job_id)
    assert label.method == "rank-weighted-borda"  # weighted by the job's fit (issue 17)
    # Unweighted, clarity's means tie responses 1 and 3 ([1, 2, 1]); weighted, ann (who agrees
    # with the consensus most) breaks the tie her way.
    assert label.value["ranks"] == {"clarity": [1, 3, 2], "accuracy": [1, 3, 2]}
    response = manager_client.get(f"/api/v1/jobs/{job_id}/export?format=manifest")
    (exported,) = [json.loads(row) for row in b"".join(response.streaming_content).splitlines()]
    assert exported["ranking"] == {"clarity": [1, 3, 2], "accuracy": [1, 3, 2]}
    assert exported["ranking-metadata"]["type"] == "groundtruth/llm-ranking"
    assert exported["responses"] == line["responses"]
