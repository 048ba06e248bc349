"""Helpers of the image and video task-type tests: images on disk, a job worked by N labelers,
answers as the drawing and span elements submit them."""

import io
import json

from PIL import Image

from labeling.models import Job
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_create, job_start
from tests.conftest import client_for, import_lines


def write_image(media_root, name: str, size=(320, 200), color="#3a7") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    (media_root / name).write_bytes(buffer.getvalue())
    return name


def image_job(manager, team, *, task_type: str, labels: list[str], lines: list[dict], workers=1):
    job = job_create(
        created_by=manager,
        name=f"{task_type}-job",
        task_type=task_type,
        labels=labels,
        team=team,
        workers_per_item=workers,
    )
    run = import_lines(job, manager, lines)
    assert run.status == "succeeded", run.errors
    job_start(job=job, by=manager)
    return job


def work(job: Job, workers, answers_per_worker: list[list[dict]]) -> None:
    """Each worker claims the job's items in order and submits its answers in turn."""
    for worker, answers in zip(workers, answers_per_worker, strict=True):
        for answer in answers:
            assignment = assignment_claim(job=job, worker=worker)
            assert assignment is not None
            annotation_submit(assignment_id=assignment.pk, worker=worker, answer=answer)


def export(job: Job, manager, fmt: str) -> bytes:
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format={fmt}")
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content)


def manifest(job: Job, manager) -> list[dict]:
    return [json.loads(line) for line in export(job, manager, "manifest").decode().splitlines()]


IMAGE_SIZE = {"width": 320, "height": 200}  # write_image's default size


def boxes_answer(*boxes: tuple) -> dict:
    """A bounding-box answer from (label, left, top, width, height) tuples."""
    return {
        "annotatedResult": {
            "boundingBoxes": [
                {"label": label, "left": left, "top": top, "width": width, "height": height}
                for label, left, top, width, height in boxes
            ],
            "inputImageProperties": IMAGE_SIZE,
        }
    }


def spans_answer(*spans: tuple) -> dict:
    """An entity-recognition answer from (label, start offset, end offset) tuples."""
    return {
        "entities": [
            {"label": label, "startOffset": start, "endOffset": end} for label, start, end in spans
        ]
    }
