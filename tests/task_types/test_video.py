"""Video: frames imported from a file (PyAV) or listed, clip classification, tracking with
interpolation between keyframes, per-frame detection, and the MOT export."""

import io
import json
import zipfile

import numpy as np
import pytest

from labeling.consolidation.tracks import consolidate_tracks, interpolate, track_iou
from labeling.models import ConsolidatedLabel, Item
from labeling.services.jobs import job_create
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import export, image_job, manifest, work, write_image

av = pytest.importorskip("av", reason="video import needs PyAV")


def test_interpolation_between_keyframes():
    dense = interpolate({0: np.array([0, 0, 10, 10]), 4: np.array([40, 0, 10, 30])}, 6)
    assert dense[2].tolist() == [20, 0, 10, 20]
    assert np.isnan(dense[5]).all()  # after the last keyframe the object is gone


def test_tracks_match_by_their_iou_over_time_and_average_per_frame():
    a = interpolate({0: np.array([0, 0, 10, 10]), 9: np.array([90, 0, 10, 10])}, 10)
    b = interpolate({0: np.array([2, 0, 10, 10]), 9: np.array([92, 0, 10, 10])}, 10)
    other = interpolate({0: np.array([0, 50, 10, 10]), 3: np.array([0, 50, 10, 10])}, 10)
    assert track_iou(a, b) > 0.6 and track_iou(a, other) == 0.0
    (track,) = consolidate_tracks([[a], [b], [other]], [[0], [0], [1]], 2)
    assert track.class_id == 0 and track.confidence == pytest.approx(2 / 3)
    assert track.boxes[5].tolist() == [51, 0, 10, 10]


def tracking_answer(keyframes, frame_count=10, label="car", object_id=1):
    return {
        "annotatedResult": {
            "tracks": [
                {
                    "objectId": object_id,
                    "label": label,
                    "keyframes": [
                        {"frame": f, "left": x, "top": 10, "width": 20, "height": 20}
                        for f, x in keyframes
                    ],
                }
            ],
            "frameCount": frame_count,
            "inputImageProperties": {"width": 64, "height": 48},
        }
    }


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (tracking_answer([(10, 0)]), r"tracks\[0\].keyframes\[0\].frame 10 is outside"),
        (tracking_answer([(0, 0), (0, 4)]), r"keyframes\[1\].frame 0 is a keyframe twice"),
        (tracking_answer([]), r"tracks\[0\].keyframes needs at least one"),
        (tracking_answer([(0, 60)]), r"keyframes\[0\].*bottom-right corner"),
        (tracking_answer([(0, 0)], label="bus"), r"'bus' is not one of"),
    ],
)
def test_tracking_answers_are_checked(answer, message):
    with pytest.raises(AnswerProblem, match=message):
        get_task_type("video-object-tracking").parse_answer(answer, ["car", "person"])


def write_video(path, frames=12):
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(frames):
        image = np.zeros((48, 64, 3), dtype=np.uint8)
        image[:, i * 4 : i * 4 + 8] = 255
        for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


@pytest.mark.django_db
def test_a_video_file_is_split_into_frames_on_import(settings, manager, team, labeler):
    write_video(settings.MEDIA_ROOT / "clip.mp4")
    job = image_job(
        manager,
        team,
        task_type="video-classification",
        labels=["calm", "busy"],
        lines=[{"source-ref": "clip.mp4", "camera": 3}],
    )
    item = Item.objects.get(job=job)
    line = json.loads(item.data)
    assert line["camera"] == 3 and len(line["frames"]) == 12
    assert all((settings.MEDIA_ROOT / ref).is_file() for ref in line["frames"])
    frame = client_for(labeler).get(f"/api/v1/items/{item.pk}/frames/11")
    assert frame.status_code == 200 and b"".join(frame.streaming_content)[:2] == b"\xff\xd8"
    assert client_for(labeler).get(f"/api/v1/items/{item.pk}/frames/12").status_code == 404
    work(job, [labeler], [[{"category": {"label": "busy"}}]])
    (exported,) = manifest(job, manager)
    metadata = exported[f"{job.label_attribute_name}-metadata"]
    assert metadata["type"] == "groundtruth/video-classification"
    assert metadata["class-name"] == "busy"


@pytest.mark.django_db
def test_a_bad_video_is_reported_by_line(settings, manager, team):

    (settings.MEDIA_ROOT / "broken.mp4").write_bytes(b"not a video at all")
    job = job_create(
        created_by=manager, name="v", task_type="video-object-tracking", labels=["car"], team=team
    )
    lines = [{"source-ref": "broken.mp4"}, {"frames": []}, {"frames": ["gone.jpg"]}]
    run = import_lines(job, manager, lines)
    assert run.status == "failed"
    assert [(e["line"], e["reason"][:30]) for e in run.errors] == [
        (1, "the video cannot be decoded (In"[:30]),
        (2, '"frames" must be a non-empty li'[:30]),
        (3, "\"frames\"[0] 'gone.jpg' is not a"[:30]),
    ]


@pytest.fixture
def tracked_job(settings, manager, team, make_labeler):
    frames = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(64, 48)) for i in range(10)]
    job = image_job(
        manager,
        team,
        task_type="video-object-tracking",
        labels=["car", "person"],
        lines=[{"frames": frames}],
        workers=2,
    )
    workers = [make_labeler(n) for n in ("ann", "ben")]
    work(
        job,
        workers,
        [[tracking_answer([(0, 0), (9, 36)])], [tracking_answer([(0, 4), (5, 24), (9, 40)])]],
    )
    return job


@pytest.mark.django_db
def test_tracks_consolidate_with_every_frame(tracked_job):
    consolidated = ConsolidatedLabel.objects.get(job=tracked_job)
    (track,) = consolidated.value["tracks"]
    assert track["label"] == "car" and track["confidence"] == 1.0
    assert [box["frame"] for box in track["frames"]] == list(range(10))
    # Frame 5: worker one interpolates to 20, worker two set 24 -> 22.
    assert track["frames"][5]["left"] == 22.0


@pytest.mark.django_db
def test_mot_export_includes_interpolated_frames(tracked_job, manager):
    archive = zipfile.ZipFile(io.BytesIO(export(tracked_job, manager, "mot")))
    (gt,) = [n for n in archive.namelist() if n.endswith("gt/gt.txt")]
    rows = [line.split(",") for line in archive.read(gt).decode().splitlines()]
    assert len(rows) == 10
    frame, object_id, left, top, width, height, conf, cls, visibility = rows[5]
    assert (frame, object_id, float(left), cls, visibility) == ("6", "1", 22.0, "1", "1")
    (ini,) = [n for n in archive.namelist() if n.endswith("seqinfo.ini")]
    assert "seqLength=10" in archive.read(ini).decode()


@pytest.mark.django_db
def test_the_tracking_manifest(tracked_job, manager):
    (line,) = manifest(tracked_job, manager)
    value = line[tracked_job.label_attribute_name]
    assert value["frame-count"] == 10 and value["tracks"][0]["object-id"] == 1
    assert len(value["tracks"][0]["frames"]) == 10
    metadata = line[f"{tracked_job.label_attribute_name}-metadata"]
    assert metadata["type"] == "groundtruth/video-object-tracking"
    assert metadata["objects"] == [{"object-id": 1, "confidence": 1.0}]


@pytest.mark.django_db
def test_per_frame_detection(settings, manager, team, make_labeler):
    frames = [write_image(settings.MEDIA_ROOT, f"d{i}.png", size=(64, 48)) for i in range(3)]
    job = image_job(
        manager,
        team,
        task_type="video-object-detection",
        labels=["car"],
        lines=[{"frames": frames}],
        workers=2,
    )

    def answer(x):
        box = {"label": "car", "left": x, "top": 0, "width": 20, "height": 20}
        return {
            "annotatedResult": {
                "frames": [{"frame": 1, "boundingBoxes": [box]}],
                "frameCount": 3,
                "inputImageProperties": {"width": 64, "height": 48},
            }
        }

    work(job, [make_labeler("ann"), make_labeler("ben")], [[answer(0)], [answer(2)]])
    (line,) = manifest(job, manager)
    (frame,) = line[job.label_attribute_name]["frames"]
    assert frame["frame-no"] == 1
    assert frame["annotations"] == [
        {"class_id": 0, "left": 1.0, "top": 0.0, "width": 20.0, "height": 20.0}
    ]
