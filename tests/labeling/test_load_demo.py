"""manage.py load_demo: the jobs `make run` shows, one of each kind people try first."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image

from labeling.models import Item, Job
from labeling.states import JobStatus


def _lines(job) -> list[dict]:
    rows = Item.objects.filter(job=job).order_by("id").values_list("data", flat=True)
    return [json.loads(data) for data in rows]


@pytest.mark.django_db
def test_the_demo_has_a_text_an_image_a_box_and_a_video_job_and_loads_twice():
    call_command("load_demo", stdout=io.StringIO())
    jobs = {job.name: job for job in Job.objects.order_by("id")}
    assert {name: job.task_type for name, job in jobs.items()} == {
        "demo-product-reviews": "text-classification",
        "demo-shapes": "image-classification",
        "demo-shape-boxes": "image-bounding-box",
        "demo-moving-shapes": "video-object-tracking",
    }
    assert all(job.status == JobStatus.IN_PROGRESS for job in jobs.values())
    media = Path(settings.MEDIA_ROOT)

    boxes = _lines(jobs["demo-shape-boxes"])
    assert len(boxes) == 8
    for line in boxes:
        with Image.open(media / line["source-ref"]) as image:
            assert image.size == (480, 320)
        assert 2 <= len(line["drawn"]) <= 3  # what is drawn, for checking answers by eye

    clips = _lines(jobs["demo-moving-shapes"])
    assert len(clips) == 3
    for line in clips:
        assert len(line["frames"]) == 24
        assert all((media / ref).is_file() for ref in line["frames"])

    output = io.StringIO()
    call_command("load_demo", stdout=output)  # again: passwords reset, jobs left alone
    assert Job.objects.count() == 4
    assert Item.objects.count() == sum(job.items_total for job in Job.objects.all()) == 59
    assert _lines(jobs["demo-shapes"])[0] == {"source-ref": "demo/shape-00.png", "drawn": "circle"}
    assert _lines(jobs["demo-product-reviews"])[0]["product"] == "wireless earbuds"
    assert "manager / quorum-manager" in output.getvalue()
