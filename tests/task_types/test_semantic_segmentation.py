"""Semantic segmentation: the PNG label map checked on submit, voted per pixel, exported with
its colour map and as COCO run-length masks."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from labeling.consolidation.masks import mask_iou, rle_decode, rle_encode, vote_label_maps
from labeling.models import Annotation, ConsolidatedLabel
from labeling.services.jobs import job_create
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from tests.conftest import import_lines
from tests.task_types.helpers import export, image_job, manifest, work, write_image

LABELS = ["sky", "road"]
COLORS = {"sky": "#4363d8", "road": "#e6194b"}
SIZE = (40, 30)


def png_of(index_map: np.ndarray, colors=COLORS, labels=LABELS) -> str:
    rgb = np.full((*index_map.shape, 3), 255, dtype=np.uint8)
    for k, label in enumerate(labels, start=1):
        hex_color = colors[label]
        rgb[index_map == k] = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def answer_of(index_map: np.ndarray, **overrides) -> dict:
    inner = {
        "inputImageProperties": {"width": SIZE[0], "height": SIZE[1]},
        "labelMappings": {label: {"color": color} for label, color in COLORS.items()},
        "labeledImage": {"pngImageData": png_of(index_map)},
    }
    inner.update(overrides)
    return {"crowd-semantic-segmentation": inner}


def sky_over_road(split: int) -> np.ndarray:
    index_map = np.zeros((SIZE[1], SIZE[0]), dtype=np.uint8)
    index_map[:split] = 1
    index_map[split + 5 :] = 2
    return index_map


def test_pixel_vote_known_answer():
    a = np.array([[1, 1, 0], [2, 2, 0]])
    b = np.array([[1, 0, 0], [2, 2, 2]])
    c = np.array([[1, 1, 0], [0, 2, 2]])
    voted, confidence = vote_label_maps([a, b, c], 2)
    assert voted.tolist() == [[1, 1, 0], [2, 2, 2]]
    # Five pixels are labelled by someone; the share agreeing with the result at each:
    assert confidence == pytest.approx(np.mean([1, 2 / 3, 2 / 3, 1, 2 / 3]))
    assert mask_iou(voted, a, 2) == pytest.approx(np.mean([1.0, 2 / 3]))


def test_rle_round_trip_and_convention():
    mask = np.array([[0, 1], [1, 1], [0, 0]], dtype=bool)
    rle = rle_encode(mask)
    # Column-major: columns 0,1,0 then 1,1,0 -> runs of 1 zero, 1 one, 1 zero, 2 ones, 1 zero
    assert rle == {"size": [3, 2], "counts": [1, 1, 1, 2, 1]}
    assert (rle_decode(rle) == mask).all()
    assert rle_encode(np.ones((2, 2), dtype=bool))["counts"] == [0, 4]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"labeledImage": {"pngImageData": "not base64!"}}, "pngImageData is not valid base64"),
        (
            {"labeledImage": {"pngImageData": base64.b64encode(b"GIF89a").decode()}},
            "pngImageData is not a PNG",
        ),
        ({"inputImageProperties": {"width": 41, "height": 30}}, "is 40x30; the image is 41x30"),
        ({"labelMappings": {"sky": {"color": "#4363d8"}}}, "colour #e6194b, which no label"),
        ({"labelMappings": {"water": {"color": "#000001"}}}, "labelMappings.water 'water'"),
        ({"labeledImage": {}}, "labeledImage.pngImageData is missing"),
    ],
)
def test_a_bad_label_map_is_refused_naming_the_field(settings, overrides, message):
    with pytest.raises(AnswerProblem, match=message):
        get_task_type("image-semantic-segmentation").parse_answer(
            answer_of(sky_over_road(10), **overrides), LABELS
        )


@pytest.fixture
def segmented_job(settings, manager, team, make_labeler):
    write_image(settings.MEDIA_ROOT, "road.png", size=SIZE)
    job = image_job(
        manager,
        team,
        task_type="image-semantic-segmentation",
        labels=LABELS,
        lines=[{"source-ref": "road.png"}],
        workers=3,
    )
    workers = [make_labeler(name) for name in ("ann", "ben", "cid")]
    work(job, workers, [[answer_of(sky_over_road(split))] for split in (10, 10, 14)])
    return job


@pytest.mark.django_db
def test_stored_as_an_index_png_and_voted(settings, segmented_job):
    stored = Annotation.objects.filter(job=segmented_job).first().answer
    inner = stored["crowd-semantic-segmentation"]
    assert "pngImageData" not in json.dumps(stored)
    saved = np.asarray(Image.open(settings.MEDIA_ROOT / inner["labeledImage"]["ref"]))
    assert (saved == sky_over_road(10)).all()
    assert inner["pixels"] == {"sky": 400, "road": 600}
    consolidated = ConsolidatedLabel.objects.get(job=segmented_job)
    voted = np.asarray(Image.open(settings.MEDIA_ROOT / consolidated.value["index_ref"]))
    assert (voted == sky_over_road(10)).all()
    colored = np.asarray(Image.open(settings.MEDIA_ROOT / consolidated.value["ref"]))
    assert colored[0, 0].tolist() == [0x43, 0x63, 0xD8] and colored[12, 0].tolist() == [255] * 3


@pytest.mark.django_db
def test_the_semantic_segmentation_manifest(segmented_job, manager, settings):
    (line,) = manifest(segmented_job, manager)
    name = f"{segmented_job.label_attribute_name}-ref"
    assert (settings.MEDIA_ROOT / line[name]).is_file()
    metadata = line[f"{name}-metadata"]
    assert metadata["type"] == "groundtruth/semantic-segmentation"
    assert metadata["internal-color-map"] == {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
        "1": {"class-name": "sky", "hex-color": "#4363d8"},
        "2": {"class-name": "road", "hex-color": "#e6194b"},
    }


@pytest.mark.django_db
def test_coco_masks_as_rle(segmented_job, manager, tmp_path):
    document = json.loads(export(segmented_job, manager, "coco"))
    sky, road = document["annotations"]
    assert (sky["category_id"], sky["area"], sky["iscrowd"]) == (1, 400, 1)
    assert sky["bbox"] == [0, 0, 40, 10]
    assert (rle_decode(road["segmentation"]) == (sky_over_road(10) == 2)).all()
    mask_api = pytest.importorskip("pycocotools.mask", reason="pycocotools if installed")
    h, w = road["segmentation"]["size"]
    decoded = mask_api.decode(mask_api.frPyObjects(road["segmentation"], h, w))
    assert (decoded.astype(bool) == (sky_over_road(10) == 2)).all()
    assert int(mask_api.area(mask_api.frPyObjects(sky["segmentation"], h, w))) == 400


@pytest.mark.django_db
def test_a_map_of_another_size_does_not_break_the_vote(settings):
    task_type = get_task_type("image-semantic-segmentation")
    good = [task_type.parse_answer(answer_of(sky_over_road(10)), LABELS).answer for _ in range(2)]
    small = np.zeros((5, 5), dtype=np.uint8)
    odd_inner = {
        "inputImageProperties": {"width": 5, "height": 5},
        "labelMappings": {label: {"color": color} for label, color in COLORS.items()},
        "labeledImage": {"pngImageData": png_of(small)},
    }
    odd = task_type.parse_answer({"crowd-semantic-segmentation": odd_inner}, LABELS).answer
    result = task_type.consolidate_answers([good[0], odd, good[1]], LABELS)
    voted = np.asarray(Image.open(settings.MEDIA_ROOT / result.value["index_ref"]))
    assert voted.shape == (30, 40) and (voted == sky_over_road(10)).all()


@pytest.mark.django_db
def test_an_item_that_already_has_the_ref_key_is_refused(settings, manager, team):
    write_image(settings.MEDIA_ROOT, "road.png", size=SIZE)
    job = job_create(
        created_by=manager,
        name="seg",
        task_type="image-semantic-segmentation",
        labels=LABELS,
        team=team,
    )
    line = {"source-ref": "road.png", f"{job.label_attribute_name}-ref": "x.png"}
    run = import_lines(job, manager, [line])
    assert run.status == "failed"
    assert f'"{job.label_attribute_name}-ref" key' in run.errors[0]["reason"]
