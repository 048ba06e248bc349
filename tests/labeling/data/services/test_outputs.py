"""Job outputs in the managed service's layout, written to a live S3 server (moto, real HTTP)."""

import json

from django.utils import timezone

from labeling.data.services.outputs import (
    job_output_configure,
    job_output_write,
    storage_outputs_sweep,
    storage_write_enqueue,
    storage_writes_flush,
)
from labeling.models import JobOutput, StorageWrite
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim


def later():
    return timezone.now() + timezone.timedelta(seconds=60)  # past the settle time


def _answer(job, worker, label):
    job.refresh_from_db()
    lease = assignment_claim(job=job, worker=worker)
    return annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def _json(s3, key):
    return json.loads(s3.get(key))


def test_answers_reach_the_managed_layout_and_the_final_manifest(s3, make_job, make_labeler):
    job = make_job(items=3, workers_per_item=2, name="pets-1", label_attribute_name="pet")
    job_output_configure(job=job, output_path=s3.uri("out"))
    ann, bob = make_labeler("ann"), make_labeler("bob")
    _answer(job, ann, "cat")
    _answer(job, bob, "cat")  # item 0 labeled
    _answer(job, ann, "dog")  # item 1 half-answered: nothing yet
    assert job_output_write(job_id=job.pk, now=later())["labels"] == 1
    worker_keys = s3.keys("out/pets-1/annotations/worker-response/iteration-1/")
    assert len(worker_keys) == 1 and worker_keys[0].split("/")[-2] == "0"
    answers = _json(s3, worker_keys[0])["answers"]
    assert [a["answerContent"] for a in answers] == [{"label": "cat"}, {"label": "cat"}]
    assert {a["workerId"] for a in answers} == {
        f"private.quorum.{ann.pk}",
        f"private.quorum.{bob.pk}",
    }
    prefix = "out/pets-1/annotations/consolidated-annotation/consolidation-response/iteration-1/"
    [batch_key] = s3.keys(prefix)
    [entry] = _json(s3, batch_key)
    assert entry["datasetObjectId"] == "0"
    assert entry["consolidatedAnnotation"]["content"]["pet"] == 0
    assert entry["consolidatedAnnotation"]["content"]["pet-metadata"]["class-name"] == "cat"
    running = s3.get("out/pets-1/manifests/output/output.manifest").decode().splitlines()
    assert len(running) == 1  # the labeled lines while the job runs

    _answer(job, bob, "dog")
    _answer(job, ann, "bird")
    _answer(job, bob, "bird")  # the last item: the job completes, its output is final
    job.refresh_from_db()
    assert job.status == "completed"
    job_output_write(job_id=job.pk)  # eager Celery ran it already: nothing left, no error
    lines = [
        json.loads(x) for x in s3.get("out/pets-1/manifests/output/output.manifest").splitlines()
    ]
    assert [line["pet-metadata"]["class-name"] for line in lines] == ["cat", "dog", "bird"]
    assert [line["source"] for line in lines] == ["text 0", "text 1", "text 2"]
    assert len(s3.keys("out/pets-1/annotations/worker-response/")) == 3
    entries = [e for key in s3.keys(prefix) for e in _json(s3, key)]
    assert sorted(e["datasetObjectId"] for e in entries) == ["0", "1", "2"]  # each once
    output = JobOutput.objects.get(job=job)
    assert output.finished_at is not None and output.labels_written == 3


def test_a_store_outage_delays_the_output_and_the_sweep_writes_it_later(
    s3, make_job, make_labeler, monkeypatch, settings
):
    job = make_job(items=2, name="outage-1")
    job_output_configure(job=job, output_path=s3.uri("out"))
    _answer(job, make_labeler("ann"), "cat")
    settings.QUORUM_S3_MAX_ATTEMPTS = 1
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # the store is away
    result = job_output_write(job_id=job.pk, now=later())
    assert "error" in result
    output = JobOutput.objects.get(job=job)
    assert output.written_through == 0 and output.failures == 1 and output.next_attempt_at
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.server.endpoint)  # back
    storage_outputs_sweep(now=output.next_attempt_at + timezone.timedelta(seconds=1))
    assert len(s3.keys("out/outage-1/annotations/worker-response/")) == 1
    assert JobOutput.objects.get(job=job).failures == 0


def test_a_bad_output_path_is_refused(make_job, settings):
    settings.QUORUM_STORAGE = "local"
    job = make_job(items=0, start=False)
    try:
        job_output_configure(job=job, output_path="ftp://x/y")
    except Exception as exc:  # noqa: BLE001
        assert "S3OutputPath" in str(exc)
    else:
        raise AssertionError("an ftp:// output path was accepted")


def test_the_outbox_writes_once_and_retries_after_a_failure(db, s3, monkeypatch, settings):
    settings.QUORUM_S3_MAX_ATTEMPTS = 1
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    storage_write_enqueue(uri=s3.uri("loops/a/output.json"), body=b'{"a": 1}')
    storage_writes_flush()  # the store is away: it fails
    row = StorageWrite.objects.get()
    assert row.written_at is None and row.attempts == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.server.endpoint)
    assert storage_writes_flush(now=row.next_attempt_at)["written"] == 1
    assert storage_writes_flush(now=later())["written"] == 0  # nothing twice
    assert s3.get("loops/a/output.json") == b'{"a": 1}'
