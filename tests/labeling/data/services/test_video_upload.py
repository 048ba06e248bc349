"""Video files uploaded as items: checked and cut into frames by the import's Celery task, a
bad file reported by its name, nothing stored when one is bad."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.data.services.imports import import_run, import_stage_videos
from labeling.errors import ValidationFailed
from labeling.models import ImportKind, Item
from labeling.services.jobs import job_start
from tests.conftest import client_for
from tests.task_types.test_video import write_video

pytestmark = pytest.mark.django_db


def video_bytes(tmp_path, frames=6) -> bytes:
    path = tmp_path / "clip.mp4"
    write_video(path, frames=frames)
    return path.read_bytes()


def test_uploaded_videos_become_items_with_their_frames(
    make_job, manager, labeler, tmp_path, settings
):
    job = make_job(items=0, start=False, task_type="video-object-tracking", labels=["car"])
    files = [
        SimpleUploadedFile("street.mp4", video_bytes(tmp_path, 6)),
        SimpleUploadedFile("Park.MOV", video_bytes(tmp_path, 4)),
    ]
    staged = import_stage_videos(job=job, created_by=manager, files=files)
    assert staged.kind == ImportKind.VIDEOS and staged.original_name == "2 video(s)"
    run = import_run(import_id=staged.pk)
    assert run.status == "succeeded", run.errors
    lines = [
        json.loads(d)
        for d in Item.objects.filter(job=job).order_by("pk").values_list("data", flat=True)
    ]
    assert [(line["file-name"], len(line["frames"])) for line in lines] == [
        ("street.mp4", 6),
        ("Park.MOV", 4),
    ]
    assert all((settings.MEDIA_ROOT / line["source-ref"]).is_file() for line in lines)
    assert lines[1]["source-ref"].endswith(".mov")
    item = Item.objects.filter(job=job).order_by("pk").first()
    job.refresh_from_db()
    assert job.items_total == 2
    # The frames are served like any video item's.
    job_start(job=job, by=manager)
    frame = client_for(labeler).get(f"/api/v1/items/{item.pk}/frames/5")
    assert frame.status_code == 200


def test_a_bad_video_fails_the_upload_and_is_named(make_job, manager, tmp_path, settings):
    job = make_job(items=0, start=False, task_type="video-classification", labels=["a", "b"])
    files = [
        SimpleUploadedFile("good.mp4", video_bytes(tmp_path)),
        SimpleUploadedFile("broken.mp4", b"not a video at all"),
    ]
    run = import_run(import_id=import_stage_videos(job=job, created_by=manager, files=files).pk)
    assert run.status == "failed"
    assert [(e["file"], e["reason"][:27]) for e in run.errors] == [
        ("broken.mp4", "the video cannot be decoded")
    ]
    assert "1 bad file(s) of 2" in run.message
    assert not Item.objects.filter(job=job).exists()
    assert not list(settings.MEDIA_ROOT.glob("jobs/**/*"))
    assert not list(settings.MEDIA_ROOT.glob("frames/*"))


def test_a_file_that_is_no_video_is_refused_by_name_at_once(make_job, manager):
    job = make_job(items=0, start=False, task_type="video-classification", labels=["a", "b"])
    with pytest.raises(ValidationFailed, match=r"notes\.txt: not a video file") as caught:
        import_stage_videos(
            job=job, created_by=manager, files=[SimpleUploadedFile("notes.txt", b"hello")]
        )
    assert caught.value.details == {"file": "notes.txt"}


def test_videos_go_to_video_jobs_only(make_job, manager, tmp_path):
    job = make_job(items=0, start=False, task_type="image-classification", labels=["a", "b"])
    with pytest.raises(ValidationFailed, match="takes no videos"):
        import_stage_videos(
            job=job,
            created_by=manager,
            files=[SimpleUploadedFile("clip.mp4", video_bytes(tmp_path))],
        )


def test_the_api_takes_video_files(make_job, manager, tmp_path):
    job = make_job(items=0, start=False, task_type="video-classification", labels=["a", "b"])
    response = client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/videos",
        {"files": [SimpleUploadedFile("clip.mp4", video_bytes(tmp_path))]},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    import_run(import_id=response.json()["id"])  # what the worker does after the commit
    detail = client_for(manager).get(f"/api/v1/imports/{response.json()['id']}").json()
    assert detail["status"] == "succeeded" and detail["items_created"] == 1
