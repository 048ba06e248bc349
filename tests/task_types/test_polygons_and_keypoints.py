"""Polygons and keypoints: pixel vote and mean of matched points, answers, manifest, COCO."""

import json

import numpy as np
import pytest

from labeling.consolidation.keypoints import consolidate_keypoints
from labeling.consolidation.polygons import consolidate_polygons, polygon_area, rasterize
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from tests.task_types.helpers import export, image_job, manifest, work, write_image

SQUARE = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], dtype=float)


def test_rasterize_counts_the_pixel_centres_inside():
    xs = np.arange(0.5, 60)
    mask = rasterize(SQUARE, xs, xs)
    assert mask.sum() == 40 * 40 and polygon_area(SQUARE) == 1600
    triangle = np.array([[0, 0], [10, 0], [0, 10]], dtype=float)
    assert rasterize(triangle, np.arange(0.5, 10), np.arange(0.5, 10)).sum() == 45


def test_pixel_vote_picks_the_polygon_closest_to_the_majority():
    shifted = SQUARE + [2, 0]
    wild = np.array([[10, 10], [90, 10], [90, 50], [10, 50]], dtype=float)
    result = consolidate_polygons([[SQUARE], [shifted], [wild]], [[0], [0], [1]], 2)
    (polygon,) = result
    # The voted shape is x 10..52 (two of three cover it); the first square agrees best.
    assert polygon.vertices.tolist() in (SQUARE.tolist(), shifted.tolist())
    assert polygon.voted_iou > 0.9 and polygon.class_id == 0 and polygon.confidence == 1.0


def test_a_polygon_one_worker_of_three_drew_is_dropped():
    far = SQUARE + [200, 200]
    result = consolidate_polygons([[SQUARE, far], [SQUARE], [SQUARE]], [[0, 0], [0], [0]], 1)
    assert len(result) == 1 and result[0].vertices.tolist() == SQUARE.tolist()


def test_keypoints_are_the_mean_of_matched_points():
    workers = [
        np.array([[10, 10], [100, 100]]),
        np.array([[12, 14], [101, 99]]),
        np.array([[14, 12], [300, 300]]),  # its second point is far from the others
    ]
    classes = [np.array([0, 1])] * 3
    result = consolidate_keypoints(workers, classes, 2, radius=10)
    assert [(p.class_id, p.x, p.y, round(p.confidence, 4)) for p in result] == [
        (0, 12.0, 12.0, 1.0),
        (1, 100.5, 99.5, round(2 / 3, 4)),
    ]


def polygon_answer(*polygons, size=(320, 200)):
    return {
        "annotatedResult": {
            "polygons": [
                {"label": label, "vertices": [{"x": x, "y": y} for x, y in points]}
                for label, points in polygons
            ],
            "inputImageProperties": {"width": size[0], "height": size[1]},
        }
    }


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (polygon_answer(("roof", [(1, 1), (5, 5)])), r"polygons\[0\].vertices needs at least 3"),
        (polygon_answer(("roof", [(1, 1), (2, 2), (3, 3)])), r"polygons\[0\] has no area"),
        (polygon_answer(("roof", [(1, 1), (400, 2), (3, 30)])), r"vertices\[1\].*outside"),
        (polygon_answer(("wall", [(1, 1), (4, 2), (3, 30)])), r"polygons\[0\].label 'wall'"),
    ],
)
def test_polygon_answers_are_checked(answer, message):
    with pytest.raises(AnswerProblem, match=message):
        get_task_type("image-polygon").parse_answer(answer, ["roof", "door"])


def test_keypoint_answers_are_checked():
    answer = {
        "annotatedResult": {
            "keypoints": [{"label": "nose", "x": 1, "y": "2"}],
            "inputImageProperties": {"width": 10, "height": 10},
        }
    }
    with pytest.raises(AnswerProblem, match=r"keypoints\[0\].y must be a number"):
        get_task_type("image-keypoint").parse_answer(answer, ["nose"])


@pytest.mark.django_db
def test_polygon_job_manifest_and_coco(settings, manager, team, make_labeler, tmp_path):
    write_image(settings.MEDIA_ROOT, "house.png")
    job = image_job(
        manager,
        team,
        task_type="image-polygon",
        labels=["roof", "door"],
        lines=[{"source-ref": "house.png"}],
        workers=2,
    )
    workers = [make_labeler(n) for n in ("ann", "ben")]
    square = [(10, 10), (50, 10), (50, 50), (10, 50)]
    work(job, workers, [[polygon_answer(("roof", square))]] * 2)
    (line,) = manifest(job, manager)
    attribute = job.label_attribute_name
    (annotation,) = line[attribute]["annotations"]
    assert annotation["class_id"] == 0 and len(annotation["vertices"]) == 4
    assert line[f"{attribute}-metadata"]["objects"] == [{"confidence": 1.0}]
    document = json.loads(export(job, manager, "coco"))
    (coco_annotation,) = document["annotations"]
    assert coco_annotation["segmentation"] == [[10, 10, 50, 10, 50, 50, 10, 50]]
    assert coco_annotation["bbox"] == [10, 10, 40, 40] and coco_annotation["area"] == 1600
    coco = pytest.importorskip("pycocotools.coco", reason="pycocotools reads COCO if installed")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(document))
    api = coco.COCO(str(path))
    mask = api.annToMask(api.loadAnns(api.getAnnIds())[0])
    assert mask.shape == (200, 320) and abs(int(mask.sum()) - 1600) <= 100


@pytest.mark.django_db
def test_keypoint_job_manifest_and_coco(settings, manager, team, make_labeler):
    write_image(settings.MEDIA_ROOT, "face.png")
    job = image_job(
        manager,
        team,
        task_type="image-keypoint",
        labels=["left-eye", "right-eye", "nose"],
        lines=[{"source-ref": "face.png"}],
        workers=2,
    )
    workers = [make_labeler(n) for n in ("ann", "ben")]

    def answer(dx):
        points = [("left-eye", 100 + dx, 50), ("right-eye", 140 + dx, 50)]
        return {
            "annotatedResult": {
                "keypoints": [{"label": label, "x": x, "y": y} for label, x, y in points],
                "inputImageProperties": {"width": 320, "height": 200},
            }
        }

    work(job, workers, [[answer(0)], [answer(4)]])
    (line,) = manifest(job, manager)
    annotations = line[job.label_attribute_name]["annotations"]
    assert annotations == [
        {"class_id": 0, "x": 102.0, "y": 50.0},
        {"class_id": 1, "x": 142.0, "y": 50.0},
    ]
    document = json.loads(export(job, manager, "coco"))
    assert document["categories"][0]["keypoints"] == ["left-eye", "right-eye", "nose"]
    (coco_annotation,) = document["annotations"]
    assert coco_annotation["keypoints"] == [102.0, 50.0, 2, 142.0, 50.0, 2, 0, 0, 0]
    assert coco_annotation["num_keypoints"] == 2


@pytest.mark.parametrize("task_type", ["image-keypoint", "image-polygon"])
def test_when_no_object_comes_out_the_confidence_is_the_share_who_drew_none(task_type):
    kind = get_task_type(task_type)
    size = {"width": 10, "height": 10}
    empty = {"annotatedResult": {kind.list_key: [], "inputImageProperties": size}}
    result = kind.consolidate_answers([empty, empty, empty], ["nose"])
    assert result.value[kind.list_key] == [] and result.confidence == 1.0
