"""Bounding boxes end to end: answers checked on submit, consolidated, exported in the
object-detection manifest, COCO, Pascal VOC and YOLO, each read back by its conventions."""

import io
import json
import zipfile
from xml.etree import ElementTree

import pytest

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from labeling.task_ui.rendering import render_task
from tests.conftest import client_for
from tests.task_types.helpers import export, image_job, manifest, work, write_image

pytestmark = pytest.mark.django_db
LABELS = ["car", "person"]


def boxes(*entries, size=(320, 200)):
    return {
        "annotatedResult": {
            "boundingBoxes": [
                dict(zip(("label", "left", "top", "width", "height"), entry, strict=True))
                for entry in entries
            ],
            "inputImageProperties": {"width": size[0], "height": size[1]},
        }
    }


@pytest.fixture
def box_job(settings, manager, team):
    write_image(settings.MEDIA_ROOT, "street.png")
    write_image(settings.MEDIA_ROOT, "empty.png")
    lines = [{"source-ref": "street.png"}, {"source-ref": "empty.png"}]
    return image_job(
        manager, team, task_type="image-bounding-box", labels=LABELS, lines=lines, workers=3
    )


@pytest.mark.parametrize(
    ("answer", "names"),
    [
        ({"annotatedResult": {"boundingBoxes": []}}, "annotatedResult.inputImageProperties"),
        (boxes(("truck", 1, 1, 5, 5)), "annotatedResult.boundingBoxes[0].label"),
        (boxes(("car", 1, 1, 0, 5)), "annotatedResult.boundingBoxes[0].width"),
        (boxes(("car", 1, 1, 5, 5), ("car", 300, 1, 50, 5)), "boundingBoxes[1] bottom-right"),
        (boxes(("car", "1", 1, 5, 5)), "annotatedResult.boundingBoxes[0].left"),
        (
            {"box": {"boundingBoxes": "x", "inputImageProperties": {"width": 3, "height": 3}}},
            "box.boundingBoxes must be a list",
        ),
    ],
)
def test_a_bad_answer_is_refused_naming_the_field(answer, names):
    with pytest.raises(AnswerProblem, match=names.replace("[", r"\[").replace("]", r"\]")):
        get_task_type("image-bounding-box").parse_answer(answer, LABELS)


def test_attributes_are_checked_and_kept():
    answer = boxes(("car", 1, 1, 5, 5))
    answer["annotatedResult"]["boundingBoxes"][0]["attributes"] = {"occluded": True}
    parsed = get_task_type("image-bounding-box").parse_answer(answer, LABELS)
    assert parsed.answer["annotatedResult"]["boundingBoxes"][0]["attributes"] == {"occluded": True}
    answer["annotatedResult"]["boundingBoxes"][0]["attributes"] = {"blurry": True}
    with pytest.raises(AnswerProblem, match="attributes.blurry"):
        get_task_type("image-bounding-box").parse_answer(answer, LABELS)


def test_a_bad_answer_over_the_api_keeps_the_lease(box_job, labeler):
    assignment = assignment_claim(job=box_job, worker=labeler)
    response = client_for(labeler).post(
        f"/api/v1/assignments/{assignment.pk}/submit",
        {"answer": boxes(("truck", 1, 1, 5, 5))},
        format="json",
    )
    assert response.status_code == 400
    assert "boundingBoxes[0].label" in response.json()["error"]["message"]
    assignment.refresh_from_db()
    assert assignment.status == "leased"
    with pytest.raises(ValidationFailed):
        annotation_submit(assignment_id=assignment.pk, worker=labeler, answer={"x": 1})


@pytest.fixture
def worked_job(box_job, make_labeler):
    workers = [make_labeler(name) for name in ("ann", "ben", "cid")]
    work(
        box_job,
        workers,
        [
            [boxes(("car", 10, 20, 100, 50), ("person", 200, 40, 30, 80)), boxes()],
            [boxes(("car", 12, 22, 98, 48), ("person", 202, 42, 30, 80)), boxes()],
            [boxes(("car", 14, 18, 102, 52)), boxes(("car", 0, 0, 10, 10))],
        ],
    )
    return box_job


def test_three_workers_consolidate_to_averaged_boxes(worked_job):
    street, empty = ConsolidatedLabel.objects.filter(job=worked_job).order_by("item_id")
    assert street.method == "boxes-iou"
    assert [
        (b["label"], b["left"], b["top"], b["width"], b["height"]) for b in street.value["boxes"]
    ] == [
        ("car", 12, 20, 100, 50),
        ("person", 201, 41, 30, 80),
    ]
    assert [b["confidence"] for b in street.value["boxes"]] == [1.0, 0.6667]
    assert street.confidence == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert empty.value["boxes"] == [] and empty.confidence == pytest.approx(2 / 3, abs=1e-4)


def test_the_object_detection_manifest(worked_job, manager):
    street, empty = manifest(worked_job, manager)
    attribute = worked_job.label_attribute_name
    assert street[attribute] == {
        "image_size": [{"width": 320, "height": 200, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 12, "top": 20, "width": 100, "height": 50},
            {"class_id": 1, "left": 201, "top": 41, "width": 30, "height": 80},
        ],
    }
    metadata = street[f"{attribute}-metadata"]
    assert metadata["type"] == "groundtruth/object-detection"
    assert metadata["class-map"] == {"0": "car", "1": "person"}
    assert metadata["objects"] == [{"confidence": 1.0}, {"confidence": 0.6667}]
    assert metadata["human-annotated"] == "yes" and "creation-date" in metadata
    assert empty[attribute]["annotations"] == []


def test_coco_reads_back_with_its_conventions(worked_job, manager, tmp_path):
    document = json.loads(export(worked_job, manager, "coco"))
    assert [c["name"] for c in document["categories"]] == LABELS
    assert [c["id"] for c in document["categories"]] == [1, 2]  # COCO ids start at 1
    street = next(i for i in document["images"] if i["file_name"] == "street.png")
    assert (street["width"], street["height"]) == (320, 200)
    ours = [a for a in document["annotations"] if a["image_id"] == street["id"]]
    assert [(a["category_id"], a["bbox"]) for a in ours] == [
        (1, [12, 20, 100, 50]),
        (2, [201, 41, 30, 80]),
    ]
    coco = pytest.importorskip("pycocotools.coco", reason="pycocotools reads COCO if installed")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(document))
    api = coco.COCO(str(path))
    ids = api.getAnnIds(imgIds=[street["id"]], catIds=api.getCatIds(catNms=["person"]))
    assert [a["bbox"] for a in api.loadAnns(ids)] == [[201, 41, 30, 80]]


def test_pascal_voc_reads_back(worked_job, manager):
    archive = zipfile.ZipFile(io.BytesIO(export(worked_job, manager, "voc")))
    names = archive.namelist()
    assert "labels.txt" in names
    (street_xml,) = [n for n in names if n.endswith("_street.xml")]
    root = ElementTree.fromstring(archive.read(street_xml))
    assert root.findtext("filename") == "street.png"
    assert root.findtext("size/width") == "320" and root.findtext("size/height") == "200"
    objects = [
        (
            o.findtext("name"),
            [int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")],
        )
        for o in root.iter("object")
    ]
    # VOC corners are 1-based and inclusive: a 100 px wide box from x=12 spans 13..112.
    assert objects == [("car", [13, 21, 112, 70]), ("person", [202, 42, 231, 121])]


def test_yolo_reads_back(worked_job, manager):
    archive = zipfile.ZipFile(io.BytesIO(export(worked_job, manager, "yolo")))
    assert archive.read("classes.txt").decode().split() == LABELS
    (street,) = [n for n in archive.namelist() if n.endswith("_street.txt")]
    rows = [line.split() for line in archive.read(street).decode().splitlines()]
    class_id, cx, cy, w, h = rows[0]
    assert class_id == "0"
    # Back to pixels: centre and size normalised by the 320x200 image.
    left = (float(cx) - float(w) / 2) * 320
    top = (float(cy) - float(h) / 2) * 200
    assert (round(left), round(top), round(float(w) * 320), round(float(h) * 200)) == (
        12,
        20,
        100,
        50,
    )


def test_a_format_the_task_type_does_not_offer_is_refused(make_job, manager):
    job = make_job(items=1)
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=coco")
    assert response.status_code == 400
    assert "not coco" in response.json()["error"]["message"]


def test_adjustment_starts_from_the_earlier_boxes(settings, manager, team, worked_job, labeler):
    line = manifest(worked_job, manager)[0]
    adjust = image_job(
        manager,
        team,
        task_type="image-bounding-box-adjustment",
        labels=LABELS,
        lines=[line],
    )
    assignment = assignment_claim(job=adjust, worker=labeler)
    html = render_task(assignment)
    assert "crowd-bounding-box" in html and "initial-value" in html
    assert "&#34;left&#34;: 12" in html or '"left": 12' in html


def test_the_console_offers_the_task_types_formats(client, box_job, manager):
    client.force_login(manager)
    page = client.get(f"/console/jobs/{box_job.pk}/").content.decode()
    for name in ("coco", "voc", "yolo"):
        assert f"export?format={name}" in page
    assert "export?format=mot" not in page
