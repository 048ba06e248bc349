"""No stored value makes an export fail: a consolidated label of the wrong shape (written
straight to the database) is left out of every format, logged with its item id and reason,
and counted in the export's last log line; the other rows stream as always."""

import csv
import io
import json
import logging
import re
import zipfile

import pytest

from labeling.models import ConsolidatedLabel, Item
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from tests.conftest import client_for
from tests.task_types.helpers import image_job, work, write_image
from tests.task_types.test_polygons_and_keypoints import polygon_answer
from tests.task_types.test_semantic_segmentation import SIZE, answer_of, sky_over_road
from tests.task_types.test_video import tracking_answer

pytestmark = pytest.mark.django_db

# One good item (worked through the API) and these bad values, one item each.
BAD_VALUES = [
    "class",  # a single class where the task type keeps boxes, spans, masks: the old bug
    ["not", "an", "object"],
    "a string",
    {
        key: "x"
        for key in ("boxes", "polygons", "keypoints", "tracks", "entities", "image_size")
        + ("index_ref", "frame_count", "labels", "class_ids", "frames")
    },
]
ITEMS = 1 + len(BAD_VALUES)


def _keypoints(label="nose"):
    return {
        "annotatedResult": {
            "keypoints": [{"label": label, "x": 100, "y": 50}],
            "inputImageProperties": {"width": 320, "height": 200},
        }
    }


def _boxes(label="car"):
    return {
        "annotatedResult": {
            "boundingBoxes": [{"label": label, "left": 1, "top": 2, "width": 50, "height": 40}],
            "inputImageProperties": {"width": 320, "height": 200},
        }
    }


def _images(media_root, size=(320, 200)):
    return [{"source-ref": write_image(media_root, f"i{n}.png", size=size)} for n in range(ITEMS)]


def _frames(media_root):
    return [
        {"frames": [write_image(media_root, f"v{n}f{i}.png", size=(64, 48)) for i in range(10)]}
        for n in range(ITEMS)
    ]


def _texts(_media_root):
    return [{"source": f"Ada Lovelace met Babbage in London {n}"} for n in range(ITEMS)]


CASES = {
    "image-bounding-box": (["car", "person"], _images, _boxes()),
    "image-polygon": (
        ["roof"],
        _images,
        polygon_answer(("roof", [(10, 10), (60, 10), (60, 60), (10, 60)])),
    ),
    "image-keypoint": (["nose", "eye"], _images, _keypoints()),
    "image-semantic-segmentation": (
        ["sky", "road"],
        lambda root: _images(root, size=SIZE),
        answer_of(sky_over_road(10)),
    ),
    "video-object-tracking": (["car", "person"], _frames, tracking_answer([(0, 0), (9, 36)])),
    "video-object-detection": (
        ["car"],
        _frames,
        {
            "annotatedResult": {
                "frames": [
                    {
                        "frame": 1,
                        "boundingBoxes": [
                            {"label": "car", "left": 0, "top": 0, "width": 20, "height": 20}
                        ],
                    }
                ],
                "frameCount": 10,
                "inputImageProperties": {"width": 64, "height": 48},
            }
        },
    ),
    "text-classification-multilabel": (["a", "b"], _texts, {"labels": ["a"]}),
    "text-entity-recognition": (
        ["PER", "LOC"],
        _texts,
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 12}]},
    ),
}


@pytest.fixture(params=sorted(CASES))
def spoiled_job(request, settings, manager, team, labeler):
    """A job of each task type with exports: its first item labeled by a worker, the others
    given a consolidated value of the wrong shape straight through the ORM."""
    task_type = request.param
    labels, lines, answer = CASES[task_type]
    job = image_job(
        manager, team, task_type=task_type, labels=labels, lines=lines(settings.MEDIA_ROOT)
    )
    work(job, [labeler], [[answer]])
    good, *bad_items = Item.objects.filter(job=job).order_by("id")
    assert ConsolidatedLabel.objects.filter(item=good).exists()
    for item, value in zip(bad_items, BAD_VALUES, strict=True):
        if value == "class":
            value = {"label": labels[0], "class_id": 0}
        ConsolidatedLabel.objects.create(
            item=item, job=job, value=value, label=labels[0], confidence=0.5, method="manual"
        )
    Item.objects.filter(pk__in=[i.pk for i in bad_items]).update(status=ItemStatus.LABELED)
    return job, good, [item.pk for item in bad_items]


def _formats(job) -> list[str]:
    task_type = get_task_type(job.task_type)
    extra = ["conll2003", "spacy"] if job.task_type.startswith("text-entity") else []
    return ["manifest", "csv", *getattr(task_type, "export_formats", ()), *extra]


def _has_good_row(fmt: str, body: bytes, job, good: Item) -> bool:
    if fmt == "manifest":
        lines = [json.loads(line) for line in body.decode().splitlines()]
        return any(
            job.label_attribute_name in line
            or f"{job.label_attribute_name}-ref" in line  # segmentation names its PNG so
            for line in lines
            if line.get("source", line.get("source-ref", line.get("frames")))
            == json.loads(good.data).get("source", json.loads(good.data).get("source-ref"))
            or line.get("frames") == json.loads(good.data).get("frames")
        )
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        return any(row["item_id"] == str(good.pk) and row["method"] for row in rows)
    if fmt == "coco":
        document = json.loads(body)
        return [image["id"] for image in document["images"]] == [good.pk] and all(
            annotation["image_id"] == good.pk for annotation in document["annotations"]
        )
    if fmt in ("voc", "yolo", "mot"):
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        per_item = [re.search(r"(?:^|/)(\d+)[_/]", name) for name in names]
        return {match.group(1) for match in per_item if match} == {str(good.pk)}
    if fmt == "conll2003":
        return f"# item_id = {good.pk}\n" in body.decode()
    if fmt == "spacy":
        documents = [json.loads(line) for line in body.decode().splitlines()]
        return [d["meta"]["item_id"] for d in documents] == [good.pk]
    raise AssertionError(fmt)


def test_every_export_answers_200_with_the_good_rows_and_logs_the_bad_ones(
    spoiled_job, manager, caplog
):
    job, good, bad_ids = spoiled_job
    client = client_for(manager)
    for fmt in _formats(job):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="labeling.data.exports"):
            response = client.get(f"/api/v1/jobs/{job.pk}/export?format={fmt}")
            assert response.status_code == 200, (fmt, response.content)
            body = b"".join(response.streaming_content)
        assert _has_good_row(fmt, body, job, good), (fmt, body[:2000])
        (summary,) = [r.getMessage() for r in caplog.records if "rows=" in r.getMessage()]
        rows, skipped = (int(n) for n in re.search(r"rows=(\d+) skipped=(\d+)", summary).groups())
        assert summary.startswith(f"export job={job.pk} format={fmt} ")
        assert rows + skipped == ITEMS and rows >= 1, (fmt, summary)
        skips = [r.getMessage() for r in caplog.records if "skipped:" in r.getMessage()]
        assert len(skips) == skipped, (fmt, skips)
        for message in skips:
            assert int(re.search(r"item=(\d+)", message).group(1)) in bad_ids
        if fmt in ("coco", "voc", "yolo", "mot", "spacy"):
            # These read every value: each bad one is left out (a value that happens to fit,
            # e.g. an empty list of spans, would be written; none of these fit).
            assert skipped == len(BAD_VALUES), (fmt, skips)
