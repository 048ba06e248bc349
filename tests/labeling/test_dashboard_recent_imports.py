"""The job page's recent imports show, for each past import that had bad lines, the first of
them with their reasons (escaped: file names and lines are the uploader's text), and point to
the import's API for the rest."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from labeling.data.services.imports import (
    MAX_ERRORS_KEPT,
    import_run,
    import_stage_images,
    import_stage_manifest,
)
from labeling.selectors import IMPORT_ERRORS_SHOWN

pytestmark = pytest.mark.django_db


def _import(job, manager, body: bytes, name: str):
    run = import_stage_manifest(job=job, created_by=manager, chunks=[body], original_name=name)
    return import_run(import_id=run.pk)


def _page(manager, job) -> str:
    client = Client()
    client.force_login(manager)
    response = client.get(reverse("console-job", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _bad_lines(page: str, run_id: int) -> list[str]:
    """The listed bad lines of one import, as text."""
    found = re.search(rf'id="import-{run_id}-bad-lines">(.*?)</details>', page, re.S)
    assert found, f"no bad lines listed for import {run_id}"
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def test_an_earlier_failed_imports_reasons_are_on_the_job_page(make_job, manager):
    job = make_job(items=0, start=False)
    failed = _import(
        job,
        manager,
        b'{"source": "fine"}\nnot json at all\n{"text": "no source"}\n',
        "first.jsonl",
    )
    assert failed.status == "failed" and failed.error_count == 2
    later = _import(job, manager, b'{"source": "fine"}\n', "second.jsonl")
    assert later.status == "succeeded"

    page = _page(manager, job)
    assert _bad_lines(page, failed.pk) == [
        f"Line {error['line']}: {error['reason']}" for error in failed.errors
    ]
    assert "Line 2: not valid JSON" in _bad_lines(page, failed.pk)[0]
    assert f'id="import-{later.pk}-bad-lines"' not in page  # nothing to show for a good one


def test_the_first_bad_lines_are_shown_and_the_api_lists_the_rest(make_job, manager):
    job = make_job(items=0, start=False)
    bad = MAX_ERRORS_KEPT + 5
    failed = _import(job, manager, b"not json\n" * bad, "many.jsonl")
    assert failed.error_count == bad and len(failed.errors) == MAX_ERRORS_KEPT

    page = _page(manager, job)
    shown = _bad_lines(page, failed.pk)
    assert shown == [f"Line {n}: {failed.errors[0]['reason']}" for n in range(1, 11)]
    assert len(shown) == IMPORT_ERRORS_SHOWN
    assert f"and {MAX_ERRORS_KEPT - IMPORT_ERRORS_SHOWN} more" in page
    assert f'href="/api/v1/imports/{failed.pk}"' in page
    assert "5 more bad line(s) were counted but not kept" in page


def test_bad_file_names_and_reasons_are_escaped(make_job, manager):
    job = make_job(items=0, start=False, task_type="image-classification")
    name = '<img src=x onerror="alert(1)">.png'
    files = [SimpleUploadedFile(name, b"<script>alert(2)</script> is not an image")]
    failed = import_run(import_id=import_stage_images(job=job, created_by=manager, files=files).pk)
    assert failed.status == "failed"

    page = _page(manager, job)
    listed = _bad_lines(page, failed.pk)
    assert len(listed) == 1
    assert listed[0].startswith(f"{failed.errors[0]['file']}: ")
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x" in page
