"""A job's results written where the managed service's scripts read them, and the storage outbox.

Under ``<S3OutputPath>/<job name>/`` (an ``s3://`` URI, or a media path), as the managed
labeling service laid them out:

- ``annotations/worker-response/iteration-1/<datasetObjectId>/<YYYY-MM-DD_hh:mm:ss>.json``:
  ``{"answers": [...]}``, every worker's answer to one data object;
- ``annotations/consolidated-annotation/consolidation-response/iteration-1/<stamp>-<n>.json``:
  a list of ``{"datasetObjectId", "consolidatedAnnotation": {"content": {...}}}``, one batch;
- ``manifests/output/output.manifest``: the augmented manifest (the labeled lines while the job
  runs, every line once it ended).

The writer follows the consolidated labels in id order and records how far it got only after
the store took a batch; a batch written again (after a failure half-way) goes to the same keys
with the same bytes, so an outage delays output and never loses or doubles it. A label is
read once it is ``QUORUM_OUTPUT_SETTLE_SECONDS`` old, so a submit that took a lower id but
committed later is not skipped. ``datasetObjectId`` is the item's place in the job (its id
less the job's first item id: an import numbers its lines in order).

Other objects that must reach storage (a review loop's output document) are outbox rows
(``StorageWrite``) stored in the transaction that made them and written by Celery, retried
with back-off until the store takes them.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.after_commit import on_commit_safely
from labeling.data.exports import as_object, manifest_stream
from labeling.data.storage import StorageError, storage_join, storage_locate, storage_write
from labeling.errors import ValidationFailed
from labeling.models import Annotation, ConsolidatedLabel, Item, Job, JobOutput, StorageWrite
from labeling.states import JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import is_structured

logger = logging.getLogger(__name__)

ITERATION = 1
LABELS_PER_BATCH = 500
# A run of the writer stops after this many labels (the sweep's next run goes on from there).
LABELS_PER_RUN = 20_000
WRITES_PER_FLUSH = 200
PARALLEL_WRITES = 8
BACKOFF_SECONDS = (2, 5, 15, 30, 60, 120, 300)
JOB_OUTPUT_WRITE_TASK = "labeling.job_output_write"
STORAGE_WRITES_FLUSH_TASK = "labeling.storage_writes_flush"
JSON = "application/json"


def _backoff(failures: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1])


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d_%H:%M:%S")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def worker_id_of(user_id: int) -> str:
    """A worker's id in outputs, shaped like the managed service's (``private.<region>.<id>``)."""
    return f"private.quorum.{user_id}"


# --- configuration -----------------------------------------------------------------------------


def job_output_configure(*, job: Job, output_path: str, name: str = "") -> JobOutput:
    """Write ``job``'s results under ``<output_path>/<name or job.name>/`` from now on."""
    prefix = storage_join(output_path.strip(), name or job.name)
    try:
        storage_locate(storage_join(prefix, "manifests/output/output.manifest"))
    except StorageError as exc:
        raise ValidationFailed(f"S3OutputPath: {exc.message}", code="invalid_output_path") from None
    output, _ = JobOutput.objects.update_or_create(job=job, defaults={"prefix": prefix})
    return output


def job_output_uris(output: JobOutput) -> dict[str, str]:
    annotations = storage_join(output.prefix, "annotations")
    return {
        "output_manifest": storage_join(output.prefix, "manifests/output/output.manifest"),
        "worker_response": storage_join(annotations, f"worker-response/iteration-{ITERATION}"),
        "consolidation_response": storage_join(
            annotations, f"consolidated-annotation/consolidation-response/iteration-{ITERATION}"
        ),
    }


# --- the job writer ----------------------------------------------------------------------------


def _label_content(job: Job, row: tuple) -> dict[str, Any]:
    """``{attribute: value, attribute-metadata: {...}}`` as in the output manifest's line."""
    _id, _item_id, label, value, confidence, method, human, created = row
    task_type = get_task_type(job.task_type)
    metadata: dict[str, Any] = {
        "confidence": confidence,
        "type": task_type.manifest_type,
        "job-name": f"labeling-job/{job.name}",
        "human-annotated": "yes" if human else "no",
        "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "consolidation-method": method,
    }
    if is_structured(task_type):
        name = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
        label_value, extra = task_type.manifest_label(as_object(value), list(job.labels))
        return {name: label_value, f"{name}-metadata": {**extra, **metadata}}
    class_ids = {name: index for index, name in enumerate(job.labels)}
    name = job.label_attribute_name
    return {
        name: class_ids.get(label, -1),
        f"{name}-metadata": {"class-name": label, **metadata},
    }


def _batch_objects(job: Job, uris: dict[str, str], rows: list[tuple]) -> list[tuple[str, bytes]]:
    """The (uri, body) of one batch: a worker response per item and one consolidation file."""
    first_item = Item.objects.filter(job_id=job.pk).order_by("id").values_list("id", flat=True)[:1]
    base = first_item[0] if first_item else 0
    item_ids = [row[1] for row in rows]
    answers: dict[int, list[dict[str, Any]]] = {item_id: [] for item_id in item_ids}
    for annotation in Annotation.objects.filter(item_id__in=item_ids).order_by("item_id", "id"):
        answers[annotation.item_id].append(
            {
                "workerId": worker_id_of(annotation.worker_id),
                "answerContent": annotation.answer,
                "acceptanceTime": _iso(annotation.accepted_at),
                "submissionTime": _iso(annotation.submitted_at),
                "timeSpentInSeconds": annotation.time_spent_seconds,
                "workerMetadata": {
                    "identityData": {
                        "identityProviderType": "Quorum",
                        "issuer": "quorum",
                        "sub": str(annotation.worker_id),
                    }
                },
            }
        )
    objects: list[tuple[str, bytes]] = []
    consolidated: list[dict[str, Any]] = []
    for row in rows:
        object_id = str(row[1] - base)
        created = row[7]
        objects.append(
            (
                storage_join(uris["worker_response"], object_id, f"{_stamp(created)}.json"),
                _compact({"answers": answers[row[1]]}),
            )
        )
        consolidated.append(
            {
                "datasetObjectId": object_id,
                "consolidatedAnnotation": {"content": _label_content(job, row)},
            }
        )
    # Named by the batch's first label: a batch written again lands on the same key.
    name = f"{_stamp(rows[0][7])}-{rows[0][0]}.json"
    objects.append((storage_join(uris["consolidation_response"], name), _compact(consolidated)))
    return objects


def _write_all(objects: list[tuple[str, bytes]]) -> None:
    if len(objects) == 1:
        storage_write(objects[0][0], objects[0][1], JSON)
        return
    with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
        for future in [pool.submit(storage_write, uri, body, JSON) for uri, body in objects]:
            future.result()  # the first failure raises


def _write_manifest(job: Job, uris: dict[str, str], *, final: bool) -> None:
    storage_write(
        uris["output_manifest"],
        manifest_stream(job, labeled_only=not final),
        "application/jsonlines",
    )


def job_output_write(*, job_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Write what is new of ``job_id``'s results; the final manifest once the job ended.

    Idempotent and safe to run twice at once (the position moves with a guarded update). A
    storage failure is recorded with its back-off and raised as nothing: the sweep comes back.
    """
    now = now or timezone.now()
    output = JobOutput.objects.select_related("job").filter(job_id=job_id).first()
    if output is None or output.finished_at is not None:
        return {"labels": 0, "finished": output is not None}
    job = output.job
    ended = job.status in (JobStatus.COMPLETED, JobStatus.STOPPED)
    settle = timedelta(seconds=0 if ended else settings.QUORUM_OUTPUT_SETTLE_SECONDS)
    uris = job_output_uris(output)
    written = 0
    position = output.written_through
    drained = False  # every label old enough is written
    try:
        while written < LABELS_PER_RUN:
            rows = list(
                ConsolidatedLabel.objects.filter(
                    job_id=job.pk, id__gt=position, created_at__lte=now - settle
                )
                .order_by("id")
                .values_list(
                    "id",
                    "item_id",
                    "label",
                    "value",
                    "confidence",
                    "method",
                    "human_annotated",
                    "created_at",
                )[:LABELS_PER_BATCH]
            )
            if not rows:
                drained = True
                break
            _write_all(_batch_objects(job, uris, rows))
            moved = JobOutput.objects.filter(pk=output.pk, written_through=position).update(
                written_through=rows[-1][0], labels_written=F("labels_written") + len(rows)
            )
            if not moved:  # another run wrote this batch too (same keys, same bytes)
                return {"labels": written, "finished": False}
            position = rows[-1][0]
            written += len(rows)
        final = ended and drained  # a big ended job may take several runs to get here
        manifest_due = final or (
            written
            and (
                output.manifest_written_at is None
                or now - output.manifest_written_at
                >= timedelta(seconds=settings.QUORUM_OUTPUT_MANIFEST_SECONDS)
            )
        )
        if manifest_due:
            _write_manifest(job, uris, final=final)
    except StorageError as exc:
        failures = output.failures + 1
        JobOutput.objects.filter(pk=output.pk).update(
            failures=failures,
            last_error=exc.message[:500],
            next_attempt_at=now + _backoff(failures),
        )
        logger.warning("output of job %s: %s (attempt %s; retried)", job_id, exc, failures)
        return {"labels": written, "finished": False, "error": exc.message}
    fields: dict[str, Any] = {"failures": 0, "last_error": "", "next_attempt_at": None}
    if manifest_due:
        fields["manifest_written_at"] = now
    if final:
        fields["finished_at"] = now
    JobOutput.objects.filter(pk=output.pk).update(**fields)
    return {"labels": written, "finished": final}


def job_outputs_due(*, now: datetime | None = None) -> list[int]:
    """Jobs whose output has something to write (unfinished, not waiting out a back-off)."""
    now = now or timezone.now()
    return list(
        JobOutput.objects.filter(finished_at__isnull=True)
        .exclude(next_attempt_at__gt=now)
        .exclude(job__status=JobStatus.DRAFT)
        .values_list("job_id", flat=True)[:1000]
    )


def job_output_request(*, job_id: int) -> None:
    """Ask Celery to write ``job_id``'s output after the current transaction commits."""
    on_commit_safely(
        current_app.signature(JOB_OUTPUT_WRITE_TASK, args=(job_id,)).delay,
        what=f"enqueueing the output of job {job_id}",
    )


def output_after_job_completed(sender: Any, *, job_id: int, **_: Any) -> None:
    """Receiver of ``job_completed``: the final output.manifest without waiting for the sweep."""
    if JobOutput.objects.filter(job_id=job_id, finished_at__isnull=True).exists():
        current_app.signature(JOB_OUTPUT_WRITE_TASK, args=(job_id,)).delay()


# --- the outbox --------------------------------------------------------------------------------


def storage_write_enqueue(*, uri: str, body: bytes, content_type: str = JSON) -> StorageWrite:
    """Store a write to do (inside the caller's transaction) and send it after the commit."""
    storage_locate(uri)  # refuse a bad URI now, not in the worker
    row, _ = StorageWrite.objects.update_or_create(
        uri=uri,
        defaults={
            "body": body,
            "content_type": content_type,
            "written_at": None,
            "next_attempt_at": timezone.now(),
        },
    )
    on_commit_safely(
        current_app.signature(STORAGE_WRITES_FLUSH_TASK).delay,
        what=f"enqueueing the write of {uri}",
    )
    return row


def storage_writes_flush(*, now: datetime | None = None) -> dict[str, int]:
    """Write the outbox's due rows; a failure backs that row off and ends this run."""
    now = now or timezone.now()
    due = list(
        StorageWrite.objects.filter(written_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:WRITES_PER_FLUSH]
    )
    written = failed = 0
    for pk in due:
        row = StorageWrite.objects.filter(pk=pk, written_at__isnull=True).first()
        if row is None:
            continue
        try:
            storage_write(row.uri, bytes(row.body), row.content_type)
        except StorageError as exc:
            failed += 1
            attempts = row.attempts + 1
            StorageWrite.objects.filter(pk=pk).update(
                attempts=attempts,
                last_error=exc.message[:500],
                next_attempt_at=now + _backoff(attempts),
            )
            logger.warning("storage write %s: %s (attempt %s; retried)", row.uri, exc, attempts)
            break  # the store is likely down: the rest waits for the next run
        with transaction.atomic():
            written += StorageWrite.objects.filter(pk=pk, written_at__isnull=True).update(
                written_at=timezone.now(), attempts=F("attempts") + 1
            )
    return {"written": written, "failed": failed}


def storage_outputs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: the outbox's due writes, then each job output with something to write."""
    result = storage_writes_flush(now=now)
    labels = jobs = 0
    for job_id in job_outputs_due(now=now):
        done = job_output_write(job_id=job_id, now=now)
        labels += done.get("labels", 0)
        jobs += 1
    return {**result, "jobs": jobs, "labels": labels}
