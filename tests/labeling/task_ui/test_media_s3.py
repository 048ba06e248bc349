"""Media of s3:// source-refs: served through signed, expiring links, streamed from the store."""

import pytest
from rest_framework.test import APIClient

from labeling.models import Item
from labeling.task_ui.media import STREAM_BLOCK_BYTES, grant_read_access
from tests.conftest import client_for, import_lines


def _body(response) -> tuple[bytes, int]:
    chunks = list(response.streaming_content)
    return b"".join(chunks), len(chunks)


def test_a_signed_link_streams_an_s3_object_in_blocks(s3):
    image = bytes(range(256)) * 1024 * 12  # 3 MiB
    uri = s3.put("photos/cat.png", image, "image/png")
    response = APIClient().get(grant_read_access(uri))
    assert response.status_code == 200
    assert response.streaming  # never read whole into memory
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(image))
    body, chunks = _body(response)
    assert body == image
    assert chunks >= len(image) // STREAM_BLOCK_BYTES


def test_a_signed_link_to_a_missing_object_is_404_and_expired_links_are_refused(s3):
    assert APIClient().get(grant_read_access(s3.uri("nope.png"))).status_code == 404
    s3.put("a.png", b"x")
    stale = APIClient().get(grant_read_access(s3.uri("a.png"), now=0))
    assert stale.status_code == 404
    assert "expired" in stale.json()["error"]["message"]


def test_objects_without_a_content_type_get_one_from_their_key(s3):
    s3.put("clips/frame.jpg", b"\xff\xd8jpeg")
    response = APIClient().get(grant_read_access(s3.uri("clips/frame.jpg")))
    assert response["Content-Type"] == "image/jpeg"
    assert _body(response)[0] == b"\xff\xd8jpeg"


def test_an_image_job_imports_s3_refs_and_the_item_media_streams(s3, make_job, manager):
    s3.put("img/0.png", b"png-zero", "image/png")
    s3.put("img/1.png", b"png-one", "image/png")
    job = make_job(items=0, start=False, task_type="image-classification")
    run = import_lines(job, manager, [{"source-ref": s3.uri(f"img/{i}.png")} for i in range(2)])
    assert run.status == "succeeded", run.errors
    item = Item.objects.filter(job=job).order_by("pk").first()
    response = client_for(manager).get(f"/api/v1/items/{item.pk}/media")
    assert response.status_code == 200
    assert response.streaming
    assert _body(response)[0] == b"png-zero"


def test_without_a_store_s3_refs_are_read_from_the_media_folder(settings, make_job, manager):
    settings.QUORUM_STORAGE = "local"
    (settings.MEDIA_ROOT / "bucket" / "img").mkdir(parents=True)
    (settings.MEDIA_ROOT / "bucket" / "img" / "a.png").write_bytes(b"local-png")
    response = APIClient().get(grant_read_access("s3://bucket/img/a.png"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"local-png"


@pytest.mark.parametrize("ref", ["s3://bucket", "s3:///key", "s3://b/../x.png", "gs://b/k.png"])
def test_incomplete_or_foreign_uris_are_refused_at_import(make_job, manager, ref):
    job = make_job(items=0, start=False, task_type="image-classification")
    run = import_lines(job, manager, [{"source-ref": ref}])
    assert run.status == "failed"
    assert run.errors[0]["line"] == 1


@pytest.mark.parametrize(
    ("key", "content_type"), [("page.html", "text/html"), ("logo.svg", "image/svg+xml")]
)
def test_objects_a_browser_would_run_are_never_served_inline(s3, key, content_type):
    s3.put(key, b"<script>alert(1)</script>", content_type)
    response = APIClient().get(grant_read_access(s3.uri(key)))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment"
