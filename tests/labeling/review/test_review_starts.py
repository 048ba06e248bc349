"""What the reviewer's and the reviser's element starts from, for the types round 1 left
empty (issue 14, round 2): the verification verdict chosen, a mask as an inline PNG in the
labels' colours, video tracks and detections as tracks of keyframes."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from labeling.models import Annotation, ConsolidatedLabel
from labeling.review.answers import element_initial, label_start
from labeling.review.services.reviews import job_review_configure, review_fix
from tests.task_types.helpers import image_job, work, write_image
from tests.task_types.test_semantic_segmentation import COLORS, LABELS, SIZE, answer_of
from tests.task_types.test_semantic_segmentation import sky_over_road as mask

pytestmark = pytest.mark.django_db


def _pixels(src: str) -> np.ndarray:
    data = base64.b64decode(src.removeprefix("data:image/png;base64,"))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_verification_starts_from_the_consolidated_verdict(settings, manager, team, make_labeler):
    write_image(settings.MEDIA_ROOT, "street.png")
    earlier = {
        "source-ref": "street.png",
        "class": 0,
        "class-metadata": {"class-name": "car"},
    }
    job = image_job(
        manager, team, task_type="image-label-verification", labels=["Correct", "Incorrect"],
        lines=[earlier],
    )  # fmt: skip
    job_review_configure(job=job, mode="all")
    work(job, [make_labeler("w1")], [[{"verification": {"label": "Incorrect"}, "feedback": "x"}]])
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert label_start(job=job, value=label.value) == {"choose": ["Incorrect"]}
    # The verdict sent back unchanged (with its feedback box) is an accept.
    kept = review_fix(
        job=job, item_id=label.item_id, reviewer=manager,
        answer={"verification": {"label": "Incorrect"}, "feedback": ""},
    )  # fmt: skip
    assert kept.review_status == "accepted"


def test_a_mask_starts_painted_for_the_reviewer_and_the_reviser(
    settings, manager, team, make_labeler
):
    write_image(settings.MEDIA_ROOT, "road.png", size=SIZE)
    job = image_job(
        manager, team, task_type="image-semantic-segmentation", labels=LABELS,
        lines=[{"source-ref": "road.png"}],
    )  # fmt: skip
    job_review_configure(job=job, mode="all")
    work(job, [make_labeler("w1")], [[answer_of(mask(10))]])
    label = ConsolidatedLabel.objects.get(item__job=job)
    start = label_start(job=job, value=label.value)["initial"]
    assert set(start["labelMappings"]) == set(LABELS)
    rgb = _pixels(start["src"])
    sky = [int(COLORS["sky"][i : i + 2], 16) for i in (1, 3, 5)]
    assert rgb.shape == (SIZE[1], SIZE[0], 3)
    assert rgb[0, 0].tolist() == sky and rgb[12, 0].tolist() == [255, 255, 255]
    revise = element_initial(Annotation.objects.get(job=job).answer, labels=LABELS)["initial"]
    assert (_pixels(revise["src"]) == rgb).all()
    # Painting the empty band is a fix; the mask sent back pixel for pixel would accept.
    fixed = review_fix(job=job, item_id=label.item_id, reviewer=manager, answer=answer_of(mask(12)))
    assert fixed.review_status == "fixed" and fixed.method == "review"


def test_video_detection_starts_from_each_frames_boxes():
    answer = {
        "annotatedResult": {
            "frames": [
                {"frame": 2, "boundingBoxes": [
                    {"label": "car", "left": 1, "top": 2, "width": 3, "height": 4}]},
            ],
            "frameCount": 5,
            "inputImageProperties": {"width": 64, "height": 48},
        }
    }  # fmt: skip
    assert element_initial(answer) == {
        "initial": [
            {
                "label": "car",
                "keyframes": [
                    {"frame": 2, "label": "car", "left": 1, "top": 2, "width": 3, "height": 4}
                ],
            }
        ]
    }
