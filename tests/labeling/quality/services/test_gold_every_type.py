"""Gold on every drawing and span type, through the submit path: a worker who answers gold
items like the known answer keeps working, one who answers them badly is paused."""

import numpy as np
import pytest

from labeling.errors import NotAllowed
from labeling.models import WorkerQuality
from labeling.quality.services.gold import gold_items_add
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import import_lines
from tests.task_types.helpers import write_image
from tests.task_types.test_semantic_segmentation import answer_of, sky_over_road
from tests.task_types.test_video import tracking_answer

pytestmark = pytest.mark.django_db

SIZE = {"width": 320, "height": 200}
TEXT = "Ada Lovelace met Charles Babbage in London."


def _objects(name, list_key, objects):
    return {name: {list_key: objects, "inputImageProperties": SIZE}}


def _square(x):
    return [{"x": x, "y": 10}, {"x": x + 60, "y": 10}, {"x": x + 60, "y": 70}, {"x": x, "y": 70}]


def _boxes(x):
    return _objects(
        "annotatedResult",
        "boundingBoxes",
        [{"label": "car", "left": x, "top": 10, "width": 60, "height": 40}],
    )


def _detection(x):
    box = {"label": "car", "left": x, "top": 10, "width": 20, "height": 20}
    return {
        "annotatedResult": {
            "frames": [{"frame": n, "boundingBoxes": [box]} for n in range(3)],
            "frameCount": 3,
            "inputImageProperties": {"width": 64, "height": 48},
        }
    }


PRIOR = {
    "prior": {"annotations": [{"class_id": 0, "left": 5, "top": 5, "width": 30, "height": 30}]},
    "prior-metadata": {"type": "groundtruth/object-detection", "class-map": {"0": "car"}},
}

# key: (labels, item line, known answer, a bad answer)
CASES = {
    "image-bounding-box": (["car"], {}, _boxes(10), _boxes(200)),
    "image-bounding-box-adjustment": (["car"], PRIOR, _boxes(10), _boxes(200)),
    "image-polygon": (
        ["roof"],
        {},
        _objects("annotatedResult", "polygons", [{"label": "roof", "vertices": _square(10)}]),
        _objects("annotatedResult", "polygons", [{"label": "roof", "vertices": _square(200)}]),
    ),
    "image-keypoint": (
        ["eye"],
        {},
        _objects("annotatedResult", "keypoints", [{"label": "eye", "x": 50, "y": 50}]),
        _objects("annotatedResult", "keypoints", [{"label": "eye", "x": 250, "y": 150}]),
    ),
    "image-polyline": (
        ["lane"],
        {},
        _objects("crowdPolyline", "polylines", [{"label": "lane", "vertices": _square(10)[:3]}]),
        _objects("crowdPolyline", "polylines", []),
    ),
    "image-line": (
        ["lane"],
        {},
        _objects("crowdLine", "lines", [{"label": "lane", "vertices": _square(10)[:2]}]),
        _objects("crowdLine", "lines", [{"label": "lane", "vertices": _square(200)[1:3]}]),
    ),
    "image-semantic-segmentation": (
        ["sky", "road"],
        {},
        answer_of(sky_over_road(15)),
        answer_of(np.zeros((30, 40), dtype=np.uint8)),
    ),
    "text-entity-recognition": (
        ["PER"],
        {"source": TEXT},
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 12}]},
        {"entities": [{"label": "PER", "startOffset": 35, "endOffset": 41}]},
    ),
    "text-entity-recognition-overlapping": (
        ["PER"],
        {"source": TEXT},
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 12}]},
        {"entities": []},
    ),
    "video-object-tracking": (
        ["car"],
        "frames",
        tracking_answer([(0, 0), (9, 40)]),
        tracking_answer([(0, 40), (9, 0)]),
    ),
    "video-object-detection": (["car"], "frames", _detection(0), _detection(40)),
}


def _line(settings, extra, number):
    if extra == "frames":
        names = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(64, 48)) for i in range(10)]
        return {"frames": names, "n": number}
    if "source" in extra:
        return {**extra, "n": number}
    write_image(settings.MEDIA_ROOT, "photo.png", size=(320, 200))
    return {"source-ref": "photo.png", **extra, "n": number}


@pytest.mark.parametrize("key", sorted(CASES))
def test_gold_pauses_a_bad_worker_and_not_a_good_one(
    key, make_job, manager, make_labeler, settings
):
    labels, extra, known, bad = CASES[key]
    job = make_job(items=0, start=False, task_type=key, labels=labels)
    gold_items_add(
        job=job,
        entries=[{"data": _line(settings, extra, n), "answer": known} for n in range(3)],
    )
    import_lines(job, manager, [_line(settings, extra, 10 + n) for n in range(2)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    job_quality_configure(job=job, gold_rate=1.0, gold_min_answers=2, gold_pause_below=0.6)
    outcomes = {}
    for name, answer in (("good", known), ("bad", bad)):
        worker = make_labeler(name)
        paused = False
        for _ in range(5):
            try:
                lease = assignment_claim(job=job, worker=worker)
            except NotAllowed:
                paused = True
                break
            if lease is None:
                break
            annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
        outcomes[name] = (paused, WorkerQuality.objects.get(job=job, worker=worker))
    good_paused, good = outcomes["good"]
    bad_paused, bad_row = outcomes["bad"]
    assert not good_paused and not good.paused
    assert good.gold_answers == 3 and good.gold_mean_score == pytest.approx(1.0)
    assert bad_paused and bad_row.paused and bad_row.gold_answers == 2
    assert bad_row.gold_correct == 0 and bad_row.gold_mean_score < 0.5


def _box_item_consolidated_with_paused(
    make_job, manager, make_labeler, settings, *, exclude: bool
) -> tuple[list[int], int]:
    """Two workers draw a car at x = 200, are then paused; a third draws it at x = 10."""
    job = make_job(
        items=0, start=False, task_type="image-bounding-box", labels=["car"], workers_per_item=3
    )
    import_lines(job, manager, [_line(settings, {}, 1)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    job_quality_configure(job=job, gold_pause_below=0.6, exclude_paused_answers=exclude)
    for name, x in (("first", 200), ("second", 200), ("third", 10)):
        worker = make_labeler(name)
        if name == "third":
            for paused in job.annotations.values_list("worker", flat=True):
                WorkerQuality.objects.update_or_create(
                    job=job, worker_id=paused, defaults={"paused": True}
                )
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=_boxes(x))
    label = job.consolidated_labels.get()
    return [box["left"] for box in label.value["boxes"]], label.answers_count


def test_paused_workers_answers_are_left_out_of_a_drawing_jobs_consolidation(
    make_job, manager, make_labeler, settings
):
    lefts, answers = _box_item_consolidated_with_paused(
        make_job, manager, make_labeler, settings, exclude=True
    )
    assert lefts == [10] and answers == 3  # the paused pair's car is gone; all answers counted
    lefts, _ = _box_item_consolidated_with_paused(
        make_job, manager, make_labeler, settings, exclude=False
    )
    assert lefts == [200]  # the job keeps paused workers' answers: two of three drew it there
