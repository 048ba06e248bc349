"""Polylines and two-point lines: resampling, mean of matched lines, answers, manifest."""

import numpy as np
import pytest

from labeling.consolidation.polylines import canonical, consolidate_polylines, resample
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from tests.task_types.helpers import image_job, manifest, work, write_image

ELL = np.array([[10, 10], [110, 10], [110, 60]], dtype=float)


def test_resampling_is_even_along_the_length_and_direction_is_canonical():
    points = resample(ELL, 7)  # length 150: a point every 25
    assert points.tolist() == [
        [10, 10],
        [35, 10],
        [60, 10],
        [85, 10],
        [110, 10],
        [110, 35],
        [110, 60],
    ]
    assert canonical(points[::-1]).tolist() == points.tolist()
    steep = np.array([[5.0, 50.0], [6.0, 0.0]])
    assert canonical(steep).tolist() == [[6.0, 0.0], [5.0, 50.0]]


def test_a_polyline_group_is_its_member_nearest_the_mean_drawn_either_way():
    workers = [
        [ELL, np.array([[200, 100], [300, 100]])],
        [(ELL + [0, 2])[::-1]],  # the same L, drawn backwards, 2 px lower
        [ELL + [0, 4], np.array([[10, 190], [20, 150]])],  # and a stray line
    ]
    classes = [[0, 1], [0], [0, 1]]
    result = consolidate_polylines(workers, classes, 2, radius=10)
    (ell,) = result  # the two lines only one worker of three drew are dropped
    assert ell.class_id == 0 and ell.confidence == 1.0
    # The backwards one is nearest the mean (2 px lower, the middle of 0, 2 and 4) and is
    # kept as drawn.
    assert ell.vertices.tolist() == (ELL + [0, 2])[::-1].tolist()


def test_two_point_lines_average_their_ends():
    workers = [[np.array([[0, 0], [100, 0]])], [np.array([[102, 4], [2, 4]])]]
    (line,) = consolidate_polylines(workers, [[0], [0]], 1, radius=10, two_points=True)
    assert line.vertices.tolist() == [[1.0, 2.0], [101.0, 2.0]]


def lines_answer(key, name, *lines, size=(320, 200)):
    return {
        name: {
            key: [
                {"label": label, "vertices": [{"x": x, "y": y} for x, y in points]}
                for label, points in lines
            ],
            "inputImageProperties": {"width": size[0], "height": size[1]},
        }
    }


@pytest.mark.parametrize(
    ("task_type", "answer", "message"),
    [
        (
            "image-polyline",
            lines_answer("polylines", "crowdPolyline", ("lane", [(1, 1)])),
            r"polylines\[0\].vertices needs at least 2 points",
        ),
        (
            "image-polyline",
            lines_answer("polylines", "crowdPolyline", ("lane", [(1, 1), (1, 1)])),
            r"polylines\[0\] has no length",
        ),
        (
            "image-polyline",
            lines_answer("polylines", "crowdPolyline", ("lane", [(1, 1), (400, 1)])),
            r"vertices\[1\].*outside",
        ),
        (
            "image-polyline",
            lines_answer("polylines", "crowdPolyline", ("road", [(1, 1), (4, 1)])),
            r"polylines\[0\].label 'road'",
        ),
        (
            "image-line",
            lines_answer("lines", "crowdLine", ("lane", [(1, 1), (4, 1), (9, 9)])),
            r"lines\[0\].vertices must be 2 points, not 3",
        ),
    ],
)
def test_line_answers_are_checked(task_type, answer, message):
    with pytest.raises(AnswerProblem, match=message):
        get_task_type(task_type).parse_answer(answer, ["lane", "curb"])


def test_a_valid_polyline_answer_is_kept_as_submitted():
    answer = lines_answer("polylines", "crowdPolyline", ("lane", [(1, 1), (50.5, 20), (90, 1)]))
    parsed = get_task_type("image-polyline").parse_answer(answer, ["lane"])
    assert parsed.answer == answer


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_type", "key", "name", "points"),
    [
        ("image-polyline", "polylines", "crowdPolyline", [(10, 10), (110, 10), (110, 60)]),
        ("image-line", "lines", "crowdLine", [(10, 10), (110, 60)]),
    ],
)
def test_line_job_manifest(settings, manager, team, make_labeler, task_type, key, name, points):
    write_image(settings.MEDIA_ROOT, "road.png")
    job = image_job(
        manager,
        team,
        task_type=task_type,
        labels=["lane", "curb"],
        lines=[{"source-ref": "road.png"}],
        workers=2,
    )
    workers = [make_labeler(n) for n in ("ann", "ben")]
    shifted = [(x, y + 2) for x, y in points]
    work(
        job,
        workers,
        [[lines_answer(key, name, ("curb", points))], [lines_answer(key, name, ("curb", shifted))]],
    )
    (line,) = manifest(job, manager)
    attribute = job.label_attribute_name
    (annotation,) = line[attribute]["annotations"]
    assert annotation["class_id"] == 1
    # A polyline is the first worker's (both are as near the mean); a line, the mean.
    offset = 1 if task_type == "image-line" else 0
    assert annotation["vertices"] == [{"x": x, "y": y + offset} for x, y in points]
    metadata = line[f"{attribute}-metadata"]
    assert metadata["objects"] == [{"confidence": 1.0}]
    assert metadata["type"] == f"groundtruth/{task_type.removeprefix('image-')}"
    assert metadata["class-map"] == {"0": "lane", "1": "curb"}
