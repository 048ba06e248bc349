"""The job page's per-label counts and the data manager's label filter for task types whose
consolidated value holds several labels (multi-label sets, boxes, polygons, masks, spans): an
item counts under each label its value contains at least once, the filter lists exactly those
items, and both follow a reviewer's fix and a model's labels."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labeling.console.query import job_items
from labeling.models import ConsolidatedLabel, ConsolidatedLabelClass, Item, Job
from labeling.quality.services.reliability import job_quality_reestimate
from labeling.review.selectors import item_neighbours
from labeling.review.services.reviews import review_fix
from labeling.selectors import label_distribution
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_create, job_start
from labeling.services.machine_labels import MachineLabel, items_label_by_model
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import image_job, write_image
from tests.task_types.test_polygons_and_keypoints import polygon_answer
from tests.task_types.test_semantic_segmentation import SIZE, answer_of, sky_over_road
from tests.task_types.test_video import tracking_answer

pytestmark = pytest.mark.django_db


def _box(label, left=1):
    return {"label": label, "left": left, "top": 2, "width": 50, "height": 40}


def _boxes(*boxes):
    return {
        "annotatedResult": {
            "boundingBoxes": list(boxes),
            "inputImageProperties": {"width": 320, "height": 200},
        }
    }


SQUARE = [(10, 10), (60, 10), (60, 60), (10, 60)]
OTHER_SQUARE = [(100, 100), (150, 100), (150, 150), (100, 150)]


def _spans(*spans):
    return {"entities": [{"label": lab, "startOffset": s, "endOffset": e} for lab, s, e in spans]}


def _images(media_root, size=(320, 200)):
    return [{"source-ref": write_image(media_root, f"c{n}.png", size=size)} for n in range(3)]


def _frames(media_root):
    return [
        {"frames": [write_image(media_root, f"v{n}f{i}.png", size=(64, 48)) for i in range(10)]}
        for n in range(3)
    ]


def _tracks(*labels):
    """One track per label, each on its own part of the frames."""
    answers = [
        tracking_answer([(0, 4 * k), (9, 4 * k)], label=label, object_id=k + 1)
        for k, label in enumerate(labels)
    ]
    inner = answers[0]["annotatedResult"]
    inner["tracks"] = [a["annotatedResult"]["tracks"][0] for a in answers]
    return {"annotatedResult": inner}


def _texts(_media_root):
    return [{"source": f"Ada Lovelace met Babbage in London {n}"} for n in range(3)]


# task type: (labels, lines, one answer per item, the items (by position) containing each
# label, the review fix (item position, answer), the items containing each label after it)
CASES = {
    "text-classification-multilabel": (
        ["a", "b", "c"],
        _texts,
        [{"labels": ["a", "b"]}, {"labels": ["a"]}, {"labels": ["c"]}],
        {"a": [0, 1], "b": [0], "c": [2]},
        (1, {"labels": ["b", "c"]}),
        {"a": [0], "b": [0, 1], "c": [1, 2]},
    ),
    "image-classification-multilabel": (
        ["cat", "dog", "owl"],
        _images,
        [{"labels": ["cat", "dog"]}, {"labels": ["dog"]}, {"labels": ["owl"]}],
        {"cat": [0], "dog": [0, 1], "owl": [2]},
        (0, {"labels": ["owl"]}),
        {"cat": [], "dog": [1], "owl": [0, 2]},
    ),
    "image-bounding-box": (
        ["car", "person"],
        _images,
        [
            _boxes(_box("car"), _box("car", left=200)),
            _boxes(_box("car"), _box("person", left=200)),
            _boxes(_box("person")),
        ],
        {"car": [0, 1], "person": [1, 2]},
        (0, _boxes(_box("person"))),
        {"car": [1], "person": [0, 1, 2]},
    ),
    "image-polygon": (
        ["roof", "wall"],
        _images,
        [
            polygon_answer(("roof", SQUARE), ("roof", OTHER_SQUARE)),
            polygon_answer(("roof", SQUARE), ("wall", OTHER_SQUARE)),
            polygon_answer(("wall", SQUARE)),
        ],
        {"roof": [0, 1], "wall": [1, 2]},
        (2, polygon_answer(("roof", SQUARE))),
        {"roof": [0, 1, 2], "wall": [1]},
    ),
    "image-semantic-segmentation": (
        ["sky", "road"],
        lambda root: _images(root, size=SIZE),
        [answer_of(sky_over_road(10)), answer_of(sky_over_road(0)), answer_of(sky_over_road(30))],
        {"sky": [0, 2], "road": [0, 1]},
        (1, answer_of(sky_over_road(30))),
        {"sky": [0, 1, 2], "road": [0]},
    ),
    "video-object-tracking": (
        ["car", "person"],
        _frames,
        [_tracks("car", "car"), _tracks("car", "person"), _tracks("person")],
        {"car": [0, 1], "person": [1, 2]},
        (1, _tracks("person")),
        {"car": [0], "person": [1, 2]},
    ),
    "text-entity-recognition": (
        ["PER", "LOC"],
        _texts,
        [
            _spans(("PER", 0, 12), ("PER", 17, 24)),
            _spans(("PER", 0, 12), ("LOC", 28, 34)),
            _spans(("LOC", 28, 34)),
        ],
        {"PER": [0, 1], "LOC": [1, 2]},
        (1, _spans(("LOC", 28, 34))),
        {"PER": [0], "LOC": [1, 2]},
    ),
}


def _work(job, worker, answers):
    """The worker answers each item with the answer at the item's position."""
    ids = list(Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    for _ in ids:
        lease = assignment_claim(job=job, worker=worker)
        assert lease is not None
        annotation_submit(
            assignment_id=lease.pk, worker=worker, answer=answers[ids.index(lease.item_id)]
        )
    return ids


def _expected_ids(ids, positions):
    return {label: sorted(ids[p] for p in at) for label, at in positions.items()}


def _page_counts(manager, job):
    client = Client()
    client.force_login(manager)
    response = client.get(reverse("console-job", args=[job.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    counts = dict(
        re.findall(r'\?label=([^"]+)" class="figure-link">(\d+)</a>', html)  # the Labels table
    )
    return html, {label: int(n) for label, n in counts.items()}


def _api_filter(manager, job, label):
    response = client_for(manager).get(
        f"/api/v1/jobs/{job.pk}/items", {"label": label, "sort": "id", "limit": 100}
    )
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _assert_counts_and_filter(manager, job, expected):
    counts = {row["label"]: row["count"] for row in label_distribution(job=job)}
    assert counts == {label: len(ids) for label, ids in expected.items()}
    html, page = _page_counts(manager, job)
    assert page == counts
    assert "Items containing it" in html
    for label, ids in expected.items():
        listed = job_items(job=job, filters={"label": label}).order_by("pk")
        assert list(listed.values_list("pk", flat=True)) == ids, label
        assert _api_filter(manager, job, label) == ids, label
        for before, after in zip(ids, ids[1:], strict=False):  # the item page's J/K
            moves = item_neighbours(job=job, item_id=before, filters={"label": label})
            assert moves["next"] == after, label
            moves = item_neighbours(job=job, item_id=after, filters={"label": label})
            assert moves["previous"] == before, label


@pytest.fixture(params=sorted(CASES))
def case(request, settings, manager, team, labeler):
    task_type = request.param
    labels, lines, answers, positions, fix, fixed_positions = CASES[task_type]
    job = image_job(
        manager, team, task_type=task_type, labels=labels, lines=lines(settings.MEDIA_ROOT)
    )
    ids = _work(job, labeler, answers)
    return job, ids, positions, fix, fixed_positions


def test_counts_and_filter_are_the_items_whose_value_contains_the_label(case, manager):
    job, ids, positions, _, _ = case
    assert ConsolidatedLabel.objects.filter(job=job).count() == len(ids)
    _assert_counts_and_filter(manager, job, _expected_ids(ids, positions))


def test_counts_and_filter_follow_a_review_fix(case, manager):
    job, ids, _, (position, answer), fixed_positions = case
    fixed = review_fix(job=job, item_id=ids[position], reviewer=manager, answer=answer)
    assert fixed.review_status == "fixed"
    _assert_counts_and_filter(manager, job, _expected_ids(ids, fixed_positions))


def test_an_unknown_label_lists_nothing_and_counts_nothing(case, manager):
    job, _, _, _, _ = case
    assert not job_items(job=job, filters={"label": "no-such-label"}).exists()
    assert all(row["label"] in job.labels for row in label_distribution(job=job))


def test_a_models_boxes_are_counted(settings, manager, team):
    job = image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=["car", "person"],
        lines=_images(settings.MEDIA_ROOT),
    )
    ids = list(Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    size = {"width": 320, "height": 200}
    box = {"class_id": 1, "left": 1, "top": 2, "width": 50, "height": 40, "confidence": 0.9}
    value = {"image_size": size, "boxes": [{"label": "person", **box}]}
    labeled = items_label_by_model(
        job_id=job.pk,
        labels=[MachineLabel(ids[0], "person", value, 0.9)],
        method="auto-boxes",
    )
    assert labeled == [ids[0]]
    assert {row["label"]: row["count"] for row in label_distribution(job=job)} == {
        "car": 0,
        "person": 1,
    }
    listed = job_items(job=job, filters={"label": "person"}).order_by("pk")
    assert list(listed.values_list("pk", flat=True)) == [ids[0]]


def test_a_single_label_submit_spends_no_query_on_the_label_classes(manager, team, labeler):
    """The single-label core loop is benchmarked: its consolidating submit reads and writes
    the same statements as before (none on the new table), and its page keeps ``label``."""
    job = job_create(
        created_by=manager,
        name="single",
        task_type="text-classification",
        labels=["pos", "neg"],
        team=team,
        workers_per_item=1,
    )
    run = import_lines(job, manager, [{"source": "one"}, {"source": "two"}])
    assert run.status == "succeeded", run.errors
    job_start(job=job, by=manager)
    lease = assignment_claim(job=job, worker=labeler)
    with CaptureQueriesContext(connection) as queries:
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "pos"})
    assert ConsolidatedLabel.objects.filter(item_id=lease.item_id, label="pos").exists()
    assert not [q for q in queries.captured_queries if "consolidatedlabelclass" in q["sql"]]
    assert not ConsolidatedLabelClass.objects.filter(job=job).exists()
    assert {row["label"]: row["count"] for row in label_distribution(job=job)} == {
        "pos": 1,
        "neg": 0,
    }
    listed = job_items(job=job, filters={"label": "pos"}).order_by("pk")
    assert list(listed.values_list("pk", flat=True)) == [lease.item_id]
    html, _ = _page_counts(manager, job)
    assert "Items containing it" not in html


def test_a_reestimation_that_moves_multi_labels_moves_their_counts(manager, team, make_labeler):
    """Multi-label EM rewrites labels in bulk: the rewritten items' labels are stored again."""
    job = job_create(
        created_by=manager,
        name="multi-em",
        task_type="text-classification-multilabel",
        labels=["a", "b"],
        team=team,
        workers_per_item=3,
    )
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    run = import_lines(job, manager, [{"source": f"text {n}"} for n in range(4)])
    assert run.status == "succeeded", run.errors
    job_start(job=job, by=manager)
    for worker in [make_labeler(name) for name in ("w1", "w2", "w3")]:
        while lease := assignment_claim(job=job, worker=worker):
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"labels": ["a"]})
    ids = list(Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    _assert_counts_and_filter(manager, job, {"a": ids, "b": []})
    # A stale label on the first item (as if written before the answers agreed): EM moves it
    # back, and its stored labels with it.
    stale = ConsolidatedLabel.objects.get(item_id=ids[0])
    stale.value = {"labels": ["b"], "class_ids": [1], "confidence_map": {"1": 0.6}}
    stale.save(update_fields=["value"])
    ConsolidatedLabelClass.objects.filter(item_id=ids[0]).update(label="b")
    _assert_counts_and_filter(manager, job, {"a": ids[1:], "b": ids[:1]})
    estimate = job_quality_reestimate(job_id=job.pk)
    assert estimate is not None and estimate.labels_changed >= 1
    assert ConsolidatedLabel.objects.get(item_id=ids[0]).value["labels"] == ["a"]
    _assert_counts_and_filter(manager, job, {"a": ids, "b": []})
