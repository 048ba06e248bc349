"""The managed services' published script style, run unchanged against Quorum and a live S3 store.

Each script (tests/scripts/) runs in a process of its own with plain ``boto3.client(...)``;
only the environment differs: AWS_ENDPOINT_URL_SAGEMAKER and AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME
point at a live Quorum, AWS_ENDPOINT_URL_S3 at moto's standalone server. Labelers answer in
Quorum's API meanwhile, as people would in the portal.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeling.models import Job
from labeling.states import JobStatus
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for
from tests.s3 import CREDENTIALS
from workflows.models import Flow
from workflows.services.access_keys import access_key_create

pytestmark = pytest.mark.django_db(transaction=True)
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCRIPT_SECONDS = 150


def _run(script: str, args: list[str], *, live_server, s3, key, answer) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DJANGO_", "QUORUM_", "DATABASE_URL"))
    }
    env.update(
        AWS_ENDPOINT_URL_SAGEMAKER=f"{live_server.url}/sagemaker",
        AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME=f"{live_server.url}/a2i",
        AWS_ENDPOINT_URL_S3=s3.server.endpoint,
        AWS_ACCESS_KEY_ID=key.access_key_id,
        AWS_SECRET_ACCESS_KEY=key.secret_access_key,
        AWS_DEFAULT_REGION=CREDENTIALS["AWS_DEFAULT_REGION"],
    )
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + SCRIPT_SECONDS
    try:
        while process.poll() is None and time.monotonic() < deadline:
            answer()
            time.sleep(0.2)
        out, err = process.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _answer_tasks(client, next_url: str, answer: dict, seen: list) -> None:
    while True:
        lease = client.post(next_url)
        if lease.status_code != 200:
            return
        task = lease.json()
        seen.append(task)
        submitted = client.post(
            f"/api/v1/assignments/{task['assignment_id']}/submit", {"answer": answer}, format="json"
        )
        assert submitted.status_code == 201, submitted.content


def test_a_labeling_job_script_from_upload_to_output_manifest(
    s3, live_server, manager, make_labeler
):
    team = team_create(name="animal-labelers")
    labeler = make_labeler("ann", on_team=team)
    client = client_for(labeler)
    key = access_key_create(user=manager)
    seen: list = []

    def answer() -> None:
        job = Job.objects.filter(name="animals-1", status=JobStatus.IN_PROGRESS).first()
        if job is not None:
            _answer_tasks(
                client, f"/api/v1/jobs/{job.pk}/tasks/next", {"category": {"label": "cat"}}, seen
            )

    result = _run(
        "labeling_job.py",
        [s3.bucket, "animals-1", team.name],
        live_server=live_server,
        s3=s3,
        key=key,
        answer=answer,
    )
    assert result["status"] == "Completed", result
    assert result["counters"]["TotalLabeled"] == 3
    assert result["counters"]["HumanLabeled"] == 3
    assert result["counters"]["Unlabeled"] == 0
    assert len(seen) == 3
    prefix = "ground-truth-demo/output/animals-1"
    assert result["output_uri"] == f"s3://{s3.bucket}/{prefix}/manifests/output/output.manifest"
    lines = result["lines"]
    assert [line["source-ref"] for line in lines] == [
        f"s3://{s3.bucket}/ground-truth-demo/images/{i}.png" for i in range(3)
    ]
    assert all(line["category-metadata"]["class-name"] == "cat" for line in lines)
    assert all(line["category-metadata"]["human-annotated"] == "yes" for line in lines)
    assert all(line["category"] == 0 for line in lines)
    # The labeler saw the pictures through Quorum's signed links, streamed from the store.
    job = Job.objects.get(name="animals-1")
    item = job.items.order_by("pk").first()
    media = client_for(manager).get(f"/api/v1/items/{item.pk}/media")
    assert media.status_code == 200
    assert b"".join(media.streaming_content) == s3.get("ground-truth-demo/images/0.png")
    # The worker responses and consolidation responses of the service's layout.
    responses = s3.keys(f"{prefix}/annotations/worker-response/iteration-1/")
    assert sorted(key.split("/")[-2] for key in responses) == ["0", "1", "2"]
    consolidated = s3.keys(
        f"{prefix}/annotations/consolidated-annotation/consolidation-response/iteration-1/"
    )
    entries = [entry for key in consolidated for entry in json.loads(s3.get(key))]
    assert sorted(entry["datasetObjectId"] for entry in entries) == ["0", "1", "2"]


def test_a_review_loop_script_ending_in_get_object_on_its_output(
    s3, live_server, manager, make_labeler
):
    team = team_create(name="reviewers")
    reviewer = make_labeler("rev", on_team=team)
    client = client_for(reviewer)
    key = access_key_create(user=manager)
    seen: list = []

    def answer() -> None:
        flow = Flow.objects.filter(name="moderation-1").first()
        if flow is not None:
            _answer_tasks(
                client,
                f"/api/v1/flows/{flow.pk}/tasks/next",
                {"verdict": {"label": "Safe"}},
                seen,
            )

    result = _run(
        "review_loop.py",
        [s3.bucket, "moderation-1", team.name],
        live_server=live_server,
        s3=s3,
        key=key,
        answer=answer,
    )
    assert result["flow_status"] == "Active"
    assert result["subdomain"]
    assert result["loop_status"] == "Completed", result
    assert result["output_uri"].startswith(f"s3://{s3.bucket}/a2i-results/moderation-1/")
    assert result["output_uri"].endswith("/loop-1/output.json")
    output = result["output"]
    assert output["humanLoopName"] == "loop-1"
    assert output["humanAnswers"][0]["answerContent"] == {"verdict": {"label": "Safe"}}
    assert output["inputContent"] == {"taskObject": "You are all great", "score": 0.31}
    assert len(seen) == 1


def test_a_batch_of_review_loops_stopped_deleted_listed_and_read_from_s3(
    s3, live_server, manager, make_labeler
):
    team = team_create(name="batch-reviewers")
    reviewer = make_labeler("batch", on_team=team)
    client = client_for(reviewer)
    key = access_key_create(user=manager)
    seen: list = []

    started = []

    def answer() -> None:
        flow = Flow.objects.filter(name="batch-1").first()
        if flow is None:
            return
        # The reviewer starts once the script has withdrawn its third loop.
        third = flow.loops.filter(name="batch-2").values_list("status", flat=True).first()
        if third == "InProgress":
            started.append(True)
        elif started:
            _answer_tasks(
                client, f"/api/v1/flows/{flow.pk}/tasks/next", {"verdict": {"label": "Safe"}}, seen
            )

    result = _run(
        "review_batch.py",
        [s3.bucket, "batch-1", team.name],
        live_server=live_server,
        s3=s3,
        key=key,
        answer=answer,
    )
    assert result["errors"] == {
        "start again": "ConflictException",
        "describe deleted": "ResourceNotFoundException",
        "delete in progress": "ValidationException",
        "describe deleted flow": "ResourceNotFound",
    }
    assert result["listed"] == ["batch-0", "batch-1", "batch-2"]
    assert result["listed_before_start"] == []
    assert result["outputs"] == {
        "batch-0": {"input": "You are all great", "answer": {"verdict": {"label": "Safe"}}},
        "batch-1": {"input": "Nice work", "answer": {"verdict": {"label": "Safe"}}},
    }
    assert result["statuses"] == [["batch-0", "Completed"], ["batch-1", "Completed"]]
    # The S3OutputPath's trailing slash makes no empty folder in the keys.
    assert all(
        key.startswith("a2i-batch/batch-1/") and "//" not in key for key in result["output_keys"]
    ), result["output_keys"]
    assert len(seen) == 2
