"""Verification and adjustment of an earlier job's drawings, for every drawing type.

Per type: the import takes a line carrying the earlier label (Quorum's export and the managed
service's shapes) and refuses one without it by name; the task shows the earlier label; the
answer is checked; consolidation (majority with feedback / the base type's, plus whether it
was adjusted); and the manifest shape.
"""

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labeling.models import ConsolidatedLabel
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from labeling.task_ui.rendering import render_task
from tests.conftest import import_lines
from tests.task_types.helpers import image_job, manifest, work, write_image

pytestmark = pytest.mark.django_db
LABELS = ["car", "person"]
VERDICTS = ["Correct", "Incorrect"]
IMAGE = {"width": 320, "height": 200}
CLIP = {"width": 64, "height": 48}
CLASS_MAP = {"0": "car", "1": "person"}
RED = "#e6194b"


def envelope(name: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {name: inner}


# --- earlier labels, as an earlier job's output line carries them ------------------------------


def polygon_line(media) -> dict[str, Any]:
    write_image(media, "street.png")
    return {
        "source-ref": "street.png",
        "outline": {
            "image_size": [{**IMAGE, "depth": 3}],
            "annotations": [
                {
                    "class_id": 0,
                    "vertices": [{"x": 10, "y": 10}, {"x": 90, "y": 10}, {"x": 50, "y": 80}],
                }
            ],
        },
        "outline-metadata": {"type": "groundtruth/polygon", "class-map": CLASS_MAP},
    }


def polygon_answer(moved: bool = False) -> dict[str, Any]:
    third = {"x": 60, "y": 120} if moved else {"x": 50, "y": 80}
    return envelope(
        "annotatedResult",
        {
            "polygons": [
                {"label": "car", "vertices": [{"x": 10, "y": 10}, {"x": 90, "y": 10}, third]}
            ],
            "inputImageProperties": IMAGE,
        },
    )


def keypoint_line(media) -> dict[str, Any]:
    write_image(media, "face.png")
    return {
        "source-ref": "face.png",
        "points": {
            "image_size": [{**IMAGE, "depth": 3}],
            "annotations": [
                {"class_id": 0, "x": 30, "y": 40},
                {"class_id": 1, "x": 200.5, "y": 99},
            ],
        },
        "points-metadata": {"type": "groundtruth/keypoint", "class-map": CLASS_MAP},
    }


def keypoint_answer(moved: bool = False) -> dict[str, Any]:
    first = {"label": "car", "x": 31 if moved else 30, "y": 40}
    return envelope(
        "annotatedResult",
        {
            "keypoints": [first, {"label": "person", "x": 200.5, "y": 99}],
            "inputImageProperties": IMAGE,
        },
    )


def mask_png(painted: tuple[slice, slice]) -> bytes:
    rgb = np.full((IMAGE["height"], IMAGE["width"], 3), 255, dtype=np.uint8)
    rgb[painted] = [0xE6, 0x19, 0x4B]
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


EARLIER_MASK = (slice(20, 60), slice(30, 90))


def mask_line(media) -> dict[str, Any]:
    write_image(media, "road.png")
    (media / "earlier").mkdir(exist_ok=True)
    (media / "earlier" / "road-mask.png").write_bytes(mask_png(EARLIER_MASK))
    return {
        "source-ref": "road.png",
        "seg-ref": "earlier/road-mask.png",
        "seg-ref-metadata": {
            "type": "groundtruth/semantic-segmentation",
            "internal-color-map": {
                "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
                "1": {"class-name": "car", "hex-color": RED},
            },
        },
    }


def mask_answer(moved: bool = False) -> dict[str, Any]:
    painted = (slice(20, 70), slice(30, 90)) if moved else EARLIER_MASK
    return envelope(
        "crowd-semantic-segmentation",
        {
            "inputImageProperties": IMAGE,
            "labelMappings": {"car": {"color": RED}},
            "labeledImage": {"pngImageData": base64.b64encode(mask_png(painted)).decode()},
        },
    )


def clip_frames(media) -> list[str]:
    return [write_image(media, f"clip{i}.png", size=(64, 48)) for i in range(10)]


def detection_line(media) -> dict[str, Any]:
    return {
        "frames": clip_frames(media),
        "dets": {
            "frame-count": 10,
            "image_size": [{**CLIP, "depth": 3}],
            "frames": [
                {
                    "frame-no": 0,
                    "annotations": [
                        {"class_id": 0, "left": 5, "top": 10, "width": 20, "height": 20}
                    ],
                    "objects": [{"confidence": 1.0}],
                },
                {
                    "frame-no": 3,
                    "annotations": [
                        {"class_id": 1, "left": 30, "top": 5, "width": 10, "height": 30}
                    ],
                    "objects": [{"confidence": 1.0}],
                },
            ],
        },
        "dets-metadata": {"type": "groundtruth/video-object-detection", "class-map": CLASS_MAP},
    }


def detection_answer(moved: bool = False) -> dict[str, Any]:
    return envelope(
        "annotatedResult",
        {
            "frames": [
                {
                    "frame": 0,
                    "boundingBoxes": [
                        {
                            "label": "car",
                            "left": 9 if moved else 5,
                            "top": 10,
                            "width": 20,
                            "height": 20,
                        }
                    ],
                },
                {
                    "frame": 3,
                    "boundingBoxes": [
                        {"label": "person", "left": 30, "top": 5, "width": 10, "height": 30}
                    ],
                },
            ],
            "frameCount": 10,
            "inputImageProperties": CLIP,
        },
    )


def tracking_line(media) -> dict[str, Any]:
    dense = [{"frame": n, "left": 2 * n, "top": 10, "width": 20, "height": 20} for n in range(10)]
    return {
        "frames": clip_frames(media),
        "trk": {
            "frame-count": 10,
            "image_size": [{**CLIP, "depth": 3}],
            "tracks": [{"object-id": 1, "label": "car", "class_id": 0, "frames": dense}],
        },
        "trk-metadata": {"type": "groundtruth/video-object-tracking", "class-map": CLASS_MAP},
    }


def tracking_answer(moved: bool = False) -> dict[str, Any]:
    keyframes = [(0, 0), (4, 20), (9, 18)] if moved else [(0, 0), (9, 18)]
    return envelope(
        "annotatedResult",
        {
            "tracks": [
                {
                    "objectId": 1,
                    "label": "car",
                    "keyframes": [
                        {"frame": f, "left": x, "top": 10, "width": 20, "height": 20}
                        for f, x in keyframes
                    ],
                }
            ],
            "frameCount": 10,
            "inputImageProperties": CLIP,
        },
    )


@dataclass(frozen=True)
class Case:
    base: str
    line: Any
    answer: Any
    element: str
    needs: str


CASES = [
    Case("image-polygon", polygon_line, polygon_answer, "crowd-polygon", "the polygons"),
    Case("image-keypoint", keypoint_line, keypoint_answer, "crowd-keypoint", "the keypoints"),
    Case(
        "image-semantic-segmentation",
        mask_line,
        mask_answer,
        "crowd-semantic-segmentation",
        "the label map",
    ),
    Case(
        "video-object-detection",
        detection_line,
        detection_answer,
        "crowd-video-object-detection",
        "the per-frame boxes",
    ),
    Case(
        "video-object-tracking",
        tracking_line,
        tracking_answer,
        "crowd-video-object-tracking",
        "the tracks",
    ),
]
IDS = [case.base for case in CASES]


def bare(line: dict[str, Any]) -> dict[str, Any]:
    """The line without its earlier label (the media only)."""
    return {k: v for k, v in line.items() if k in ("source-ref", "frames")}


# --- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("suffix", ["verification", "adjustment"])
def test_an_item_without_the_earlier_label_is_refused_by_name(
    settings, manager, team, make_job, case, suffix
):
    line = case.line(settings.MEDIA_ROOT)
    job = make_job(items=0, start=False, task_type=f"{case.base}-{suffix}", labels=LABELS)
    run = import_lines(job, manager, [line, bare(line)])
    assert run.status == "failed"
    [error] = run.errors
    assert error["line"] == 2
    article = "a verification" if suffix == "verification" else "an adjustment"
    assert error["reason"].startswith(f"{article} item needs {case.needs} of an earlier job")
    assert get_task_type(case.base).manifest_type in error["reason"]


# --- adjustment --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_adjustment_opens_the_earlier_label_in_the_same_tool(
    settings, manager, team, labeler, case
):
    job = image_job(
        manager,
        team,
        task_type=f"{case.base}-adjustment",
        labels=LABELS,
        lines=[case.line(settings.MEDIA_ROOT)],
    )
    html = render_task(assignment_claim(job=job, worker=labeler))
    assert f"<{case.element} " in html and "initial-value=" in html
    assert "readonly" not in html


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_adjustment_answers_are_the_base_types(case):
    adjustment = get_task_type(f"{case.base}-adjustment")
    base = get_task_type(case.base)
    if case.base != "image-semantic-segmentation":  # its parse stores a PNG per call
        assert adjustment.parse_answer(case.answer(), LABELS) == base.parse_answer(
            case.answer(), LABELS
        )
    ((name, inner),) = case.answer().items()
    with pytest.raises(AnswerProblem, match=name):
        adjustment.parse_answer({name: {**inner, "inputImageProperties": {"width": 0}}}, LABELS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_adjustment_consolidates_as_the_base_type_and_says_whether_it_adjusted(
    settings, manager, team, make_labeler, case
):
    line = case.line(settings.MEDIA_ROOT)
    job = image_job(
        manager,
        team,
        task_type=f"{case.base}-adjustment",
        labels=LABELS,
        lines=[line, line],
        workers=2,
    )
    workers = [make_labeler("w1"), make_labeler("w2")]
    # Item 1: both leave the earlier label as it was; item 2: both correct it.
    work(job, workers, [[case.answer(), case.answer(moved=True)]] * 2)
    labels = ConsolidatedLabel.objects.filter(job=job).order_by("item_id")
    assert [c.value["adjustment_status"] for c in labels] == ["unadjusted", "adjusted"]

    lines = manifest(job, manager)
    attribute = job.label_attribute_name + ("-ref" if "segmentation" in case.base else "")
    base = get_task_type(case.base)
    earlier = next(k for k in line if k.endswith("-metadata"))
    for exported, label, status in zip(lines, labels, ["unadjusted", "adjusted"], strict=True):
        metadata = exported[f"{attribute}-metadata"]
        assert metadata["type"] == base.manifest_type
        assert metadata["adjustment-status"] == status
        assert metadata["human-annotated"] == "yes"
        assert exported[earlier] == line[earlier]  # the earlier job's label rides along
        # The label itself is in the base type's shape.
        own = {k: v for k, v in label.value.items() if k != "adjustment_status"}
        expected, extra = base.manifest_label(own, LABELS)
        assert exported[attribute] == expected
        assert {k: metadata[k] for k in extra} == extra


def test_an_adjusted_mask_is_the_voted_map_of_the_corrections(settings, manager, team, labeler):
    job = image_job(
        manager,
        team,
        task_type="image-semantic-segmentation-adjustment",
        labels=LABELS,
        lines=[mask_line(settings.MEDIA_ROOT)],
    )
    work(job, [labeler], [[mask_answer(moved=True)]])
    value = ConsolidatedLabel.objects.get(job=job).value
    assert value["pixels"] == {"car": 50 * 60}
    assert value["adjustment_status"] == "adjusted"


def test_a_tracked_prior_becomes_keyframes_where_its_motion_changes(settings):
    line = tracking_line(settings.MEDIA_ROOT)
    line["trk"]["tracks"][0]["frames"][6:] = [
        {"frame": n, "left": 10, "top": 10, "width": 20, "height": 20} for n in range(6, 10)
    ]  # 2 px a frame to the right until frame 5, then it stands still
    context = get_task_type("video-object-tracking-adjustment").template_context(line)
    [track] = context["initial_value"]
    assert [k["frame"] for k in track["keyframes"]] == [0, 5, 9]
    assert context["frame_count"] == 10


def test_the_managed_services_sequence_file_is_read(settings, manager, team, labeler):
    media = settings.MEDIA_ROOT
    frames = clip_frames(media)
    sequence = {
        "tracking-annotations": [
            {
                "frame-no": n,
                "frame": f"clip{n}.png",
                "annotations": [
                    {
                        "height": 20, "width": 20, "top": 10, "left": 2 * n,
                        "class-id": "1", "object-id": "a1", "object-name": "person:1",
                    }
                ],
            }
            for n in (0, 1, 2)
        ]
    }  # fmt: skip
    (media / "SeqLabel.json").write_text(json.dumps(sequence))
    line = {
        "frames": frames,
        "walk-ref": "SeqLabel.json",
        "walk-ref-metadata": {
            "type": "groundtruth/video-object-tracking",
            "class-map": CLASS_MAP,
        },
    }
    job = image_job(
        manager, team, task_type="video-object-tracking-adjustment", labels=LABELS, lines=[line]
    )
    context = get_task_type(job.task_type).template_context(line)
    assert context["initial_value"] == [
        {
            "label": "person",
            "keyframes": [
                {"frame": 0, "left": 0.0, "top": 10.0, "width": 20.0, "height": 20.0},
                {"frame": 2, "left": 4.0, "top": 10.0, "width": 20.0, "height": 20.0},
            ],
        }
    ]


def test_a_chain_from_a_real_polygon_job_adjusts_its_export(
    settings, manager, team, labeler, make_labeler
):
    write_image(settings.MEDIA_ROOT, "street.png")
    first = image_job(
        manager, team, task_type="image-polygon", labels=LABELS,
        lines=[{"source-ref": "street.png"}],
    )  # fmt: skip
    work(first, [labeler], [[polygon_answer()]])
    [earlier] = manifest(first, manager)
    adjust = image_job(
        manager, team, task_type="image-polygon-adjustment", labels=LABELS, lines=[earlier]
    )
    html = render_task(assignment_claim(job=adjust, worker=make_labeler("w2")))
    assert "&#34;x&#34;: 90.0" in html or '"x": 90.0' in html


# --- verification ------------------------------------------------------------------------------


def verdict(label: str, feedback: str = "") -> dict[str, Any]:
    return {"verification": {"label": label}, "feedback": feedback}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_verification_shows_the_earlier_label_read_only(settings, manager, team, labeler, case):
    job = image_job(
        manager,
        team,
        task_type=f"{case.base}-verification",
        labels=VERDICTS,
        lines=[case.line(settings.MEDIA_ROOT)],
    )
    html = render_task(assignment_claim(job=job, worker=labeler))
    assert '<crowd-classifier name="verification"' in html
    assert f"<{case.element} " in html and " readonly " in html and "initial-value=" in html
    assert 'name="feedback"' in html
    # The viewer's labels are the earlier job's classes, not the verdicts.
    assert "&#34;car&#34;" in html or '"car"' in html


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_verification_answers_are_a_verdict_with_feedback(case):
    kind = get_task_type(f"{case.base}-verification")
    parsed = kind.parse_answer(verdict("Incorrect", "  the tail is cut  "), VERDICTS)
    assert parsed.answer == {"verification": {"label": "Incorrect"}, "feedback": "the tail is cut"}
    assert parsed.label == "Incorrect"
    with pytest.raises(AnswerProblem, match="verification.label"):
        kind.parse_answer(verdict("Maybe"), VERDICTS)
    with pytest.raises(AnswerProblem, match="feedback must be text"):
        kind.parse_answer({"verification": {"label": "Correct"}, "feedback": 3}, VERDICTS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_verification_is_a_majority_with_the_feedback_in_the_manifest(
    settings, manager, team, make_labeler, case
):
    line = case.line(settings.MEDIA_ROOT)
    job = image_job(
        manager,
        team,
        task_type=f"{case.base}-verification",
        labels=VERDICTS,
        lines=[line],
        workers=3,
    )
    workers = [make_labeler(f"w{i}") for i in range(3)]
    answers = [
        [verdict("Incorrect", "misses the left edge")],
        [verdict("Correct")],
        [verdict("Incorrect", "wrong class")],
    ]
    work(job, workers, answers)
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.label == "Incorrect" and label.confidence == pytest.approx(2 / 3, abs=1e-4)

    [exported] = manifest(job, manager)
    attribute = job.label_attribute_name
    assert exported[attribute] == 1
    metadata = exported[f"{attribute}-metadata"]
    assert metadata["type"] == "groundtruth/label-verification"
    assert metadata["class-name"] == "Incorrect"
    assert metadata["human-annotated"] == "yes"
    assert sorted(c["comment"] for c in metadata["worker-feedback"]) == [
        "misses the left edge",
        "wrong class",
    ]
    earlier = next(k for k in line if k.endswith("-metadata"))
    assert exported[earlier] == line[earlier]  # what was verified rides along


def test_box_adjustment_says_whether_it_adjusted_too(settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "street.png")
    earlier = {
        "source-ref": "street.png",
        "boxes": {
            "image_size": [{**IMAGE, "depth": 3}],
            "annotations": [{"class_id": 0, "left": 12, "top": 20, "width": 30, "height": 40}],
        },
        "boxes-metadata": {"type": "groundtruth/object-detection", "class-map": CLASS_MAP},
    }
    job = image_job(
        manager, team, task_type="image-bounding-box-adjustment", labels=LABELS,
        lines=[earlier, earlier],
    )  # fmt: skip

    def answer(left: int, modified: bool) -> dict[str, Any]:
        box = {"label": "car", "left": left, "top": 20, "width": 30, "height": 40}
        return envelope(
            "annotatedResult",
            {
                "boundingBoxes": [box],
                "inputImageProperties": IMAGE,
                "initialValueModified": modified,
            },
        )

    work(job, [labeler], [[answer(12, False), answer(20, True)]])
    statuses = [
        line[f"{job.label_attribute_name}-metadata"]["adjustment-status"]
        for line in manifest(job, manager)
    ]
    assert statuses == ["unadjusted", "adjusted"]


def test_an_earlier_mask_that_is_not_in_storage_is_refused(settings, manager, make_job):
    line = mask_line(settings.MEDIA_ROOT)
    line["seg-ref"] = "earlier/gone.png"
    job = make_job(
        items=0, start=False, task_type="image-semantic-segmentation-adjustment", labels=LABELS
    )
    run = import_lines(job, manager, [line])
    assert run.status == "failed"
    assert "'earlier/gone.png' is not in storage" in run.errors[0]["reason"]


@pytest.mark.parametrize("suffix", ["verification", "adjustment"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_console_item_page_shows_a_labelled_item(
    settings, client, manager, team, labeler, case, suffix
):
    answer = verdict("Correct", "fine") if suffix == "verification" else case.answer()
    job = image_job(
        manager,
        team,
        task_type=f"{case.base}-{suffix}",
        labels=VERDICTS if suffix == "verification" else LABELS,
        lines=[case.line(settings.MEDIA_ROOT)],
    )
    work(job, [labeler], [[answer]])
    item = ConsolidatedLabel.objects.get(job=job).item_id
    client.force_login(manager)
    response = client.get(f"/console/jobs/{job.pk}/items/{item}")
    assert response.status_code == 200


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_type_names_the_earlier_shape_it_reads(case):
    base = get_task_type(case.base)
    for suffix in ("verification", "adjustment"):
        assert get_task_type(f"{case.base}-{suffix}").earlier_manifest_type == base.manifest_type
