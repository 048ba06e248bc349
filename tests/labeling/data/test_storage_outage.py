"""The S3 store stopped mid-job, then started again: every answer ends up in the output, once.

A moto server of this test's own (a subprocess on its own loopback port) is stopped while
labelers keep answering; the writer's runs fail and back off, answers keep being accepted;
the server is started again on the same port with the objects it held (moto keeps them in
memory only: the test puts back what a real store would have kept), and the next sweeps write
the rest. The output then holds each data object exactly once.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.data.services.outputs import (
    job_output_configure,
    storage_outputs_sweep,
    storage_write_enqueue,
)
from labeling.models import JobOutput, StorageWrite
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from tests.s3 import MOTO_MISSING, SKIP_REASON, MotoServer, S3Fixture

pytestmark = [pytest.mark.faults, pytest.mark.skipif(MOTO_MISSING, reason=SKIP_REASON)]
ITEMS = 12
LABELS = ["cat", "dog", "bird"]


@pytest.fixture
def own_store(tmp_path, monkeypatch, settings):
    server = MotoServer(log_dir=tmp_path)
    server.start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    settings.QUORUM_STORAGE = "s3"
    settings.QUORUM_S3_MAX_ATTEMPTS = 2
    settings.QUORUM_S3_CONNECT_TIMEOUT = 1
    yield server
    server.stop()


def _answer(job, worker, label):
    job.refresh_from_db()
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def _objects(store: S3Fixture) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.keys()}  # noqa: SIM118 - S3 keys, not a dict


def test_a_store_outage_mid_job_loses_no_answer_and_writes_none_twice(
    own_store, make_job, make_labeler
):
    store = S3Fixture(own_store)
    job = make_job(items=ITEMS, name="outage-job", label_attribute_name="animal")
    job_output_configure(job=job, output_path=store.uri("out"))
    worker = make_labeler("ann")
    expected = {str(i): LABELS[i % 3] for i in range(ITEMS)}
    clock = timezone.now()

    def sweep():
        nonlocal clock
        clock += timedelta(minutes=10)  # past the settle time and any back-off
        return storage_outputs_sweep(now=clock)

    for index in range(4):
        _answer(job, worker, expected[str(index)])
    assert sweep()["labels"] == 4

    kept = _objects(store)  # what a durable store holds when it goes down
    own_store.stop()
    for index in range(4, 8):
        _answer(job, worker, expected[str(index)])  # answers are still taken
    storage_write_enqueue(uri=store.uri("loops/l1/output.json"), body=b'{"loop": 1}')
    result = sweep()
    assert result["labels"] == 0 and result["failed"] == 1
    output = JobOutput.objects.get(job=job)
    assert output.failures >= 1 and output.written_through and output.labels_written == 4

    own_store.start()  # the same port: the endpoint Quorum knows
    store.client.create_bucket(Bucket=store.bucket)
    for key, body in kept.items():
        store.client.put_object(Bucket=store.bucket, Key=key, Body=body)
    for index in range(8, ITEMS):
        _answer(job, worker, expected[str(index)])
    job.refresh_from_db()
    assert job.status == "completed"
    sweep()
    sweep()  # a second pass changes nothing

    output = JobOutput.objects.get(job=job)
    assert output.finished_at is not None and output.labels_written == ITEMS
    manifest = store.get("out/outage-job/manifests/output/output.manifest").decode().splitlines()
    labels = [json.loads(line)["animal-metadata"]["class-name"] for line in manifest]
    assert labels == [expected[str(i)] for i in range(ITEMS)]
    responses = store.keys("out/outage-job/annotations/worker-response/iteration-1/")
    assert sorted(key.split("/")[-2] for key in responses) == sorted(expected)
    batches = store.keys(
        "out/outage-job/annotations/consolidated-annotation/consolidation-response/iteration-1/"
    )
    entries = [entry for key in batches for entry in json.loads(store.get(key))]
    assert sorted(entry["datasetObjectId"] for entry in entries) == sorted(expected)  # once each
    assert {
        entry["datasetObjectId"]: entry["consolidatedAnnotation"]["content"]["animal-metadata"][
            "class-name"
        ]
        for entry in entries
    } == expected
    assert store.get("loops/l1/output.json") == b'{"loop": 1}'
    assert StorageWrite.objects.get().written_at is not None
