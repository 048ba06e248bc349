"""Multi-label image classification and label verification: answers, votes, manifests."""

import numpy as np
import pytest

from labeling.consolidation.multilabel import consolidate_multilabel
from labeling.models import ConsolidatedLabel
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from labeling.task_ui.rendering import render_task
from tests.task_types.helpers import image_job, manifest, work, write_image

LABELS = ["cat", "dog", "bird"]


def test_per_class_vote_keeps_classes_half_the_workers_chose():
    chosen = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 1]], dtype=bool)
    kept, shares = consolidate_multilabel(chosen)
    assert kept.tolist() == [0, 1, 2]
    assert shares.tolist() == [0.75, 0.5, 0.5]
    kept, _ = consolidate_multilabel(chosen, min_share=0.6)
    assert kept.tolist() == [0]
    assert consolidate_multilabel(np.zeros((0, 3), dtype=bool))[0].tolist() == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"categories": {"labels": ["cow"]}}, r"categories.labels\[0\] 'cow'"),
        ({"categories": {"labels": ["cat", "cat"]}}, "names a label twice"),
        ({"categories": {"labels": "cat"}}, "categories.labels must be a list"),
        ({"categories": {}}, "categories.labels is missing"),
    ],
)
def test_multilabel_answers_are_checked(answer, message):
    with pytest.raises(AnswerProblem, match=message):
        get_task_type("image-classification-multilabel").parse_answer(answer, LABELS)


@pytest.mark.django_db
def test_multilabel_job_consolidates_and_exports(settings, manager, team, make_labeler):
    write_image(settings.MEDIA_ROOT, "pets.png")
    job = image_job(
        manager,
        team,
        task_type="image-classification-multilabel",
        labels=LABELS,
        lines=[{"source-ref": "pets.png"}],
        workers=3,
    )
    workers = [make_labeler(name) for name in ("ann", "ben", "cid")]
    answers = [["dog", "cat"], ["cat"], ["cat", "dog", "bird"]]
    work(job, workers, [[{"categories": {"labels": chosen}}] for chosen in answers])
    consolidated = ConsolidatedLabel.objects.get(job=job)
    assert consolidated.value["labels"] == ["cat", "dog"]
    (line,) = manifest(job, manager)
    attribute = job.label_attribute_name
    assert line[attribute] == [0, 1]
    metadata = line[f"{attribute}-metadata"]
    assert metadata["type"] == "groundtruth/image-classification-multilabel"
    assert metadata["class-map"] == {"0": "cat", "1": "dog"}
    assert metadata["confidence-map"] == {"0": 1.0, "1": 0.6667}


@pytest.mark.django_db
def test_verification_of_earlier_boxes(settings, manager, team, make_labeler):
    write_image(settings.MEDIA_ROOT, "street.png")
    earlier = {
        "source-ref": "street.png",
        "boxes": {"annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 30, "height": 40}]},
        "boxes-metadata": {"type": "groundtruth/object-detection", "class-map": {"0": "car"}},
    }
    job = image_job(
        manager,
        team,
        task_type="image-label-verification",
        labels=["Correct", "Incorrect"],
        lines=[earlier],
        workers=3,
    )
    workers = [make_labeler(name) for name in ("ann", "ben", "cid")]
    first = assignment_claim(job=job, worker=workers[0])
    html = render_task(first)
    assert 'name="verification"' in html and "overlay=" in html and "car" in html
    assert 'name="feedback"' in html
    answers = [
        {"verification": {"label": "Incorrect"}, "feedback": "misses the bumper"},
        {"verification": {"label": "Correct"}, "feedback": ""},
        {"verification": {"label": "Incorrect"}, "feedback": " too small "},
    ]
    annotation_submit(assignment_id=first.pk, worker=workers[0], answer=answers[0])
    work(job, workers[1:], [[answer] for answer in answers[1:]])
    (line,) = manifest(job, manager)
    attribute = job.label_attribute_name
    assert line[attribute] == 1
    metadata = line[f"{attribute}-metadata"]
    assert metadata["type"] == "groundtruth/label-verification"
    assert metadata["class-name"] == "Incorrect"
    assert metadata["confidence"] == pytest.approx(2 / 3, abs=1e-4)
    assert metadata["worker-feedback"] == [
        {"comment": "misses the bumper"},
        {"comment": "too small"},
    ]


def test_verification_needs_an_earlier_label():
    with pytest.raises(Exception, match="earlier job's label"):
        get_task_type("image-label-verification").check_source({"source-ref": "a.png"})
    get_task_type("image-label-verification").check_source(
        {"source-ref": "a.png", "animal": 0, "animal-metadata": {"class-name": "cat"}}
    )
