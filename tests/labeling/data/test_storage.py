"""labeling/data/storage.py against a live S3 server (moto, real HTTP) and the local folder."""

import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from labeling.data import storage
from labeling.data.services.imports import import_run, import_stage_images
from labeling.data.storage import (
    StorageError,
    StorageNotFound,
    storage_exists,
    storage_open,
    storage_read,
    storage_size,
    storage_write,
)
from labeling.models import Item


def test_without_a_store_s3_uris_are_files_of_the_media_folder(settings):
    settings.QUORUM_STORAGE = "local"
    storage_write("s3://bucket/a/b.txt", b"hello\nworld\n", "text/plain")
    assert (settings.MEDIA_ROOT / "bucket" / "a" / "b.txt").read_bytes() == b"hello\nworld\n"
    assert storage_exists("s3://bucket/a/b.txt")
    assert not storage_exists("s3://bucket/a/c.txt")
    with storage_open("s3://bucket/a/b.txt") as stream:
        assert stream.readline() == b"hello\n"
    assert storage_read("bucket/a/b.txt") == b"hello\nworld\n"  # the same file as a media path
    with pytest.raises(StorageNotFound, match="s3://bucket/a/c.txt"):
        storage_open("s3://bucket/a/c.txt")


@pytest.mark.parametrize(
    "uri", ["s3://bucket/../../etc/passwd", "../outside", "s3://bucket", "ftp://x/y"]
)
def test_uris_outside_the_media_folder_or_incomplete_are_refused(settings, uri):
    settings.QUORUM_STORAGE = "local"
    with pytest.raises(StorageError):
        storage_write(uri, b"x")


def test_a_write_replaces_the_file_whole(settings):
    settings.QUORUM_STORAGE = "local"
    storage_write("out/x.json", [b"{", b'"a": 1', b"}"])
    storage_write("out/x.json", [b"{}"])
    assert storage_read("out/x.json") == b"{}"
    assert [p.name for p in (settings.MEDIA_ROOT / "out").iterdir()] == ["x.json"]  # no temp left


def test_read_write_exists_size_on_a_live_s3_server(s3):
    uri = s3.uri("in/manifest.jsonl")
    assert not storage_exists(uri)
    storage_write(uri, b'{"source": "a"}\n{"source": "b"}\n', "application/jsonlines")
    assert s3.get("in/manifest.jsonl") == b'{"source": "a"}\n{"source": "b"}\n'
    head = s3.client.head_object(Bucket=s3.bucket, Key="in/manifest.jsonl")
    assert head["ContentType"] == "application/jsonlines"
    assert storage_exists(uri)
    assert storage_size(uri) == 32
    with storage_open(uri) as stream:
        assert [line for line in stream] == [b'{"source": "a"}\n', b'{"source": "b"}\n']
    storage_write(uri, b"again")  # idempotent replace: one object, the last bytes
    assert s3.keys("in/") == ["in/manifest.jsonl"]
    assert s3.get("in/manifest.jsonl") == b"again"


def test_missing_objects_and_buckets_raise_storage_not_found_naming_the_uri(s3):
    with pytest.raises(StorageNotFound, match=s3.uri("nope.txt")):
        storage_open(s3.uri("nope.txt"))
    with pytest.raises(StorageNotFound, match="s3://no-such-bucket-q/x"):
        storage_open("s3://no-such-bucket-q/x")
    assert not storage_exists(s3.uri("nope.txt"))


def test_a_big_iterable_body_goes_up_in_parts_and_reads_back_streamed(s3, monkeypatch):
    monkeypatch.setattr(storage, "SINGLE_PUT_MAX_BYTES", 1024)
    part = bytes(range(256)) * 4096  # 1 MiB
    storage_write(s3.uri("big.bin"), (part for _ in range(6)))
    assert storage_size(s3.uri("big.bin")) == 6 * len(part)
    with storage_open(s3.uri("big.bin")) as stream:
        assert stream.read(10) == part[:10]
        total = 10 + sum(len(chunk) for chunk in iter(lambda: stream.read(65536), b""))
    assert total == 6 * len(part)


def test_a_server_that_does_not_answer_is_a_storage_error_not_a_hang(s3, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens on port 9
    with override_settings(QUORUM_S3_MAX_ATTEMPTS=1), pytest.raises(StorageError, match="big"):
        storage_write("s3://bucket/big", b"x")


def test_uploaded_images_go_to_the_media_bucket_when_one_is_set(s3, settings, make_job, manager):
    def png() -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(out, format="PNG")
        return out.getvalue()

    settings.QUORUM_S3_MEDIA_BUCKET = s3.bucket
    job = make_job(items=0, start=False, task_type="image-classification")
    files = [SimpleUploadedFile("a.png", png()), SimpleUploadedFile("b.png", png())]
    run = import_run(import_id=import_stage_images(job=job, created_by=manager, files=files).pk)
    assert run.status == "succeeded", run.errors
    refs = [
        json.loads(d)["source-ref"]
        for d in Item.objects.filter(job=job).values_list("data", flat=True)
    ]
    assert all(ref.startswith(f"s3://{s3.bucket}/media/jobs/{job.pk}/") for ref in refs)
    assert s3.get(refs[0][len(f"s3://{s3.bucket}/") :]) == png()
    assert not (settings.MEDIA_ROOT / "jobs").exists()  # nothing on this machine's disk


def test_djangos_file_storage_on_the_media_bucket_writes_to_the_store(s3, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": s3.bucket, "location": "media", "file_overwrite": False},
        },
    }
    name = storages["default"].save("exports/a.txt", ContentFile(b"shared by every machine"))
    assert s3.get(f"media/{name}") == b"shared by every machine"
    assert storages["default"].open(name).read() == b"shared by every machine"
