"""Thumbnails of image items: made once by Celery after the import, served to managers."""

import io

import pytest
from PIL import Image

from labeling.console.services.thumbnails import NO_THUMBNAIL, item_thumbnails_make
from labeling.models import Item
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db


def _png(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, format="PNG")
    return out.getvalue()


def test_an_image_import_makes_each_thumbnail_once(
    manager, labeler, make_job, settings, manager_client, django_capture_on_commit_callbacks
):
    (settings.MEDIA_ROOT / "big.png").write_bytes(_png())
    (settings.MEDIA_ROOT / "broken.png").write_bytes(b"not an image")
    job = make_job(items=0, start=False, task_type="image-classification")
    with django_capture_on_commit_callbacks(execute=True):
        run = import_lines(job, manager, [{"source-ref": "big.png"}])
    assert run.status == "succeeded", run.errors
    made = Item.objects.get(job=job)
    assert made.thumbnail.endswith(f"{made.pk}.jpg")
    # Files that went bad after their import: settled as "none", never tried again.
    broken = Item.objects.create(job=job, data='{"source-ref": "broken.png"}')
    gone = Item.objects.create(job=job, data='{"source-ref": "gone.png"}')
    assert item_thumbnails_make(job_id=job.pk) == 2
    broken.refresh_from_db()
    gone.refresh_from_db()
    assert broken.thumbnail == NO_THUMBNAIL and gone.thumbnail == NO_THUMBNAIL
    with Image.open(settings.MEDIA_ROOT / made.thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 160

    response = manager_client.get(f"/api/v1/items/{made.pk}/thumbnail")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert manager_client.get(f"/api/v1/items/{gone.pk}/thumbnail").status_code == 404
    assert client_for(labeler).get(f"/api/v1/items/{made.pk}/thumbnail").status_code == 403
    rows = manager_client.get(f"/api/v1/jobs/{job.pk}/items").json()["results"]
    assert rows[0]["thumbnail_url"] == f"/api/v1/items/{made.pk}/thumbnail"
    assert rows[0]["preview"] == {"kind": "media", "text": "big.png"}
    assert rows[1]["thumbnail_url"] is None

    assert item_thumbnails_make(job_id=job.pk) == 0  # every item settled: nothing made again


def test_a_text_job_makes_no_thumbnails(make_job, django_capture_on_commit_callbacks, manager):
    job = make_job(items=0, start=False)
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, [{"source": "words"}])
    assert Item.objects.get(job=job).thumbnail == ""
