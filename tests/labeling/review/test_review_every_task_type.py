"""Review for every task type (issue 14): a reviewer's fix is checked by the task type exactly
as a worker's answer is (refused with the reason, nothing stored), is stored as the task
type's own consolidation shapes it, and no reviewed label makes any export fail; the manifest
carries the reviewed label with its ``reviewed`` metadata."""

import csv
import io
import json
import re

import pytest

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, Item, ItemEvent
from labeling.review.answers import answer_of_value, label_start
from labeling.review.services.reviews import job_review_configure, review_fix
from tests.labeling.data.test_exports_never_fail import CASES, _formats
from tests.task_types.helpers import export, image_job, work

pytestmark = pytest.mark.django_db


def _relabel(answer, labels):
    """The same answer with every label swapped for one the job does not have."""
    if isinstance(answer, dict):
        return {
            key: ("not-a-label" if key == "label" else _relabel(value, labels))
            for key, value in answer.items()
        }
    if isinstance(answer, list):
        return [_relabel(value, labels) for value in answer]
    return answer


@pytest.fixture(params=sorted(CASES))
def reviewed_job(request, settings, manager, team, labeler):
    task_type = request.param
    labels, lines, answer = CASES[task_type]
    job = image_job(
        manager, team, task_type=task_type, labels=labels, lines=lines(settings.MEDIA_ROOT)[:1]
    )
    job_review_configure(job=job, mode="all")
    work(job, [labeler], [[answer]])
    item = Item.objects.get(job=job)
    assert ConsolidatedLabel.objects.get(item=item).review_status == "pending"
    return job, item, answer


def test_a_fix_is_checked_like_an_answer_and_no_reviewed_label_fails_an_export(
    reviewed_job, manager, caplog
):
    job, item, answer = reviewed_job
    before = ConsolidatedLabel.objects.get(item=item)
    # Shown to the reviewer in the type's own tool: drawing and span types start from it.
    if job.task_type in ("image-bounding-box", "image-polygon", "image-keypoint",
                         "text-entity-recognition", "text-classification-multilabel"):  # fmt: skip
        assert answer_of_value(job=job, value=before.value) is not None, job.task_type
    # Every built-in type's element starts from the label: masks, video and verdicts too.
    if job.task_type != "custom":
        assert label_start(job=job, value=before.value), job.task_type

    # Refused with the reason, exactly as a worker's answer is; nothing stored.
    bad_answers = [{"nonsense": True}]
    if "not-a-label" in json.dumps(_relabel(answer, job.labels)):
        bad_answers.append(_relabel(answer, job.labels))
    for bad in bad_answers:
        with pytest.raises(ValidationFailed) as refused:
            review_fix(job=job, item_id=item.pk, reviewer=manager, answer=bad)
        assert refused.value.message and refused.value.details.get("field") == "answer"
    kept = ConsolidatedLabel.objects.get(item=item)
    assert (kept.value, kept.review_status, kept.method) == (before.value, "pending", before.method)
    assert not ItemEvent.objects.filter(item=item, kind__startswith="review").exists()

    # The worker's answer given back is the label shown: an accept (a custom template may
    # store it differently: then a fix); either way recorded, in the type's own shape.
    fixed = review_fix(job=job, item_id=item.pk, reviewer=manager, answer=answer)
    expected = ("accepted", "fixed") if job.task_type == "custom" else ("accepted",)
    assert fixed.review_status in expected, job.task_type
    assert fixed.reviewed_by == manager and fixed.reviewed_at is not None
    event = ItemEvent.objects.get(item=item, kind__startswith="review")
    assert event.actor == manager and event.data["before"] and event.data["after"]
    for fmt in _formats(job):
        caplog.clear()
        with caplog.at_level("INFO", logger="labeling.data.exports"):
            assert export(job, manager, fmt), fmt
        for summary in [r.getMessage() for r in caplog.records if "rows=" in r.getMessage()]:
            assert re.search(r"skipped=0$", summary), (fmt, summary)
    (line,) = [json.loads(x) for x in export(job, manager, "manifest").decode().splitlines()]
    metadata = next(v for k, v in line.items() if k.endswith("-metadata") and "reviewed" in v)
    assert metadata["reviewed"]["outcome"] == fixed.review_status
    (row,) = csv.DictReader(io.StringIO(export(job, manager, "csv").decode()))
    assert row["reviewed"] == fixed.review_status
