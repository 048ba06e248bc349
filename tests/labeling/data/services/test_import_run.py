"""Imports: every bad line named, nothing stored on failure, images checked with Pillow."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from labeling.data.services.imports import import_run, import_stage_images, import_stage_manifest
from labeling.models import ImportRun, Item
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db


def _stage(job, manager, body: bytes) -> ImportRun:
    return import_run(
        import_id=import_stage_manifest(job=job, created_by=manager, chunks=[body]).pk
    )


def test_a_manifest_keeps_every_key_and_the_line_order(make_job, manager):
    job = make_job(items=0, start=False)
    run = import_lines(job, manager, [{"source": "b", "meta": {"x": 1}}, {"source": "a", "id": 7}])
    assert run.status == "succeeded" and run.items_created == 2
    assert [
        json.loads(d)
        for d in Item.objects.filter(job=job).order_by("id").values_list("data", flat=True)
    ] == [
        {"source": "b", "meta": {"x": 1}},
        {"source": "a", "id": 7},
    ]
    job.refresh_from_db()
    assert job.items_total == 2


def test_bad_lines_are_reported_by_number_and_nothing_is_stored(make_job, manager):
    job = make_job(items=0, start=False)
    body = b'{"source": "ok"}\n\n{"source": 5}\n{oops\n["list"]\n{"source": "x", "job-1": 9}\n'
    run = _stage(job, manager, body)
    assert run.status == "failed"
    assert "nothing was imported" in run.message
    assert [(e["line"], e["reason"][:25]) for e in run.errors] == [
        (3, 'a text item needs "source'),
        (4, "not valid JSON (Expecting"),
        (5, "a line must be a JSON obj"),
        # Issue 16: the job's own attribute continues the job; a class it lacks is refused.
        (6, '"job-1" is 9: the job has'),
    ]
    assert run.error_count == 4
    assert not Item.objects.filter(job=job).exists()
    job.refresh_from_db()
    assert job.items_total == 0


def test_a_json_array_body_is_a_manifest_too(make_job, manager):
    job = make_job(items=0, start=False)
    run = _stage(job, manager, json.dumps([{"source": "a"}, {"source": "b"}]).encode())
    assert run.status == "succeeded" and run.items_created == 2


def test_an_import_runs_once_even_if_the_task_is_delivered_twice(make_job, manager):
    job = make_job(items=0, start=False)
    run = _stage(job, manager, b'{"source": "a"}\n')
    again = import_run(import_id=run.pk)
    assert again.status == "succeeded"
    assert Item.objects.filter(job=job).count() == 1


def test_image_refs_must_stay_inside_the_media_folder(make_job, manager):
    job = make_job(items=0, start=False, task_type="image-classification")
    body = (
        b'{"source-ref": "/etc/passwd"}\n{"source-ref": "../x.png"}\n{"source-ref": "ftp://h/x"}\n'
    )
    run = _stage(job, manager, body)
    assert [e["line"] for e in run.errors] == [1, 2, 3]


def _png(width=8, height=8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def test_uploaded_images_are_checked_and_stored_together(make_job, manager, settings):
    job = make_job(items=0, start=False, task_type="image-classification")
    files = [SimpleUploadedFile("a.png", _png()), SimpleUploadedFile("b.png", _png())]
    run = import_run(import_id=import_stage_images(job=job, created_by=manager, files=files).pk)
    assert run.status == "succeeded" and run.items_created == 2
    refs = [
        json.loads(d)["source-ref"]
        for d in Item.objects.filter(job=job).values_list("data", flat=True)
    ]
    assert all((settings.MEDIA_ROOT / ref).is_file() for ref in refs)


def test_one_bad_image_fails_the_whole_upload(make_job, manager, settings):
    settings.QUORUM_IMAGE_MAX_PIXELS = 100
    job = make_job(items=0, start=False, task_type="image-classification")
    files = [
        SimpleUploadedFile("ok.png", _png()),
        SimpleUploadedFile("fake.png", b"not an image at all"),
        SimpleUploadedFile("huge.png", _png(20, 20)),
    ]
    run = import_run(import_id=import_stage_images(job=job, created_by=manager, files=files).pk)
    assert run.status == "failed"
    reasons = {e["file"]: e["reason"] for e in run.errors}
    assert set(reasons) == {"fake.png", "huge.png"}
    assert "not an image" in reasons["fake.png"] and "400 pixels" in reasons["huge.png"]
    assert not Item.objects.filter(job=job).exists()
    assert not list(settings.MEDIA_ROOT.glob("jobs/**/*.png"))
