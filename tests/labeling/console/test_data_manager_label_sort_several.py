"""The data manager's label sort on task types whose value holds several labels (multi-label,
boxes, spans): an item sorts by its value's first label in code-point order (the labels the
label filter reads), after the unlabeled items and those whose value holds no label; every
keyset page size gives each item exactly once, both ways, with and without a filter."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labeling.models import ConsolidatedLabel, ConsolidatedLabelClass, Item
from labeling.selectors import label_distribution
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.label_classes import consolidated_classes_write
from tests.conftest import client_for
from tests.labeling.console.helpers import answer_next
from tests.task_types.helpers import image_job, write_image

pytestmark = pytest.mark.django_db

NONE = object()  # the item's label is removed after the answers: it has none


def _boxes(*labels):
    boxes = [
        {"label": label, "left": 1 + 60 * n, "top": 2, "width": 50, "height": 40}
        for n, label in enumerate(labels)
    ]
    return {
        "annotatedResult": {
            "boundingBoxes": boxes,
            "inputImageProperties": {"width": 320, "height": 200},
        }
    }


def _spans(*labels):
    return {
        "entities": [
            {"label": label, "startOffset": 4 * n, "endOffset": 4 * n + 3}
            for n, label in enumerate(labels)
        ]
    }


def _multi(*labels):
    return {"labels": list(labels)}


# The labels of each item's answer, by position (NONE: unlabeled; (): a value with no label).
# Ties on the first label, an item whose labels are not given in order, and labels that sort
# differently by case.
POSITIONS = [
    ("b", "c"),
    ("a",),
    NONE,
    (),
    ("c", "a"),
    ("b",),
    NONE,
    ("c",),
    ("a", "b"),
    (),
    ("b",),
    ("c", "b"),
]

POSITIONS_RANGE = range(len(POSITIONS))

CASES = {
    "text-classification-multilabel": (["a", "b", "c"], _multi, "texts"),
    "image-bounding-box": (["a", "b", "c"], _boxes, "images"),
    "text-entity-recognition": (["a", "b", "c"], _spans, "texts"),
}


def _lines(kind, media_root):
    if kind == "images":
        return [{"source-ref": write_image(media_root, f"s{n}.png")} for n in POSITIONS_RANGE]
    return [{"source": f"Ada Lovelace met Babbage in London {n}"} for n in POSITIONS_RANGE]


@pytest.fixture(params=sorted(CASES))
def labeled_job(request, settings, manager, team, labeler):
    task_type = request.param
    labels, answer_of, kind = CASES[task_type]
    job = image_job(
        manager, team, task_type=task_type, labels=labels, lines=_lines(kind, settings.MEDIA_ROOT)
    )
    ids = list(Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    for _ in ids:
        lease = assignment_claim(job=job, worker=labeler)
        assert lease is not None
        wanted = POSITIONS[ids.index(lease.item_id)]
        answer = answer_of(*(() if wanted is NONE else wanted))
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer=answer)
    unlabeled = [item_id for item_id, wanted in zip(ids, POSITIONS, strict=True) if wanted is NONE]
    ConsolidatedLabel.objects.filter(item_id__in=unlabeled).delete()
    assert ConsolidatedLabel.objects.filter(job=job).count() == len(ids) - len(unlabeled)
    # One first label per value; a value without a label has the empty one, never counted.
    firsts = dict(
        ConsolidatedLabelClass.objects.filter(job=job, first=True).values_list("item_id", "label")
    )
    assert firsts == {
        item_id: min(wanted, default="")
        for item_id, wanted in zip(ids, POSITIONS, strict=True)
        if wanted is not NONE
    }
    assert all(row["label"] in labels for row in label_distribution(job=job))
    return job, ids


def _expected(ids, descending, only=None):
    def key(position):
        wanted = POSITIONS[position]
        if wanted is NONE:
            return (0, "", ids[position])
        if not wanted:
            return (1, "", ids[position])
        return (2, min(wanted), ids[position])

    positions = [p for p in POSITIONS_RANGE if only is None or only(POSITIONS[p])]
    return [ids[p] for p in sorted(positions, key=key, reverse=descending)]


def _paged(client, job, limit, **params):
    seen, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/api/v1/jobs/{job.pk}/items", query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= limit
        seen += [row["id"] for row in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_the_label_sort_is_by_the_first_label_and_pages_every_item_once(labeled_job, manager):
    job, ids = labeled_job
    client = client_for(manager)
    for descending in (False, True):
        expected = _expected(ids, descending)
        assert len(set(expected)) == len(ids)
        for limit in (1, 2, 5, 50):
            sort = "-label" if descending else "label"
            assert _paged(client, job, limit, sort=sort) == expected, (sort, limit)


def test_the_label_sort_keeps_the_label_filter(labeled_job, manager):
    job, ids = labeled_job
    client = client_for(manager)
    for label, count in (("a", 3), ("b", 5), ("c", 4)):
        for descending in (False, True):
            sort = "-label" if descending else "label"
            expected = _expected(
                ids,
                descending,
                only=lambda wanted, label=label: wanted is not NONE and label in wanted,
            )
            assert len(expected) == count
            for limit in (1, 2, 50):
                got = _paged(client, job, limit, sort=sort, label=label)
                assert got == expected, (label, sort, limit)


def test_a_first_label_follows_a_new_value(labeled_job, manager):
    """A label written again (a reviewer's fix, a re-estimation) moves its item in the sort."""
    job, ids = labeled_job
    moved = ConsolidatedLabel.objects.get(item_id=ids[1])  # was ("a",)
    moved.value = ConsolidatedLabel.objects.get(item_id=ids[7]).value  # ("c",)
    moved.save(update_fields=["value"])
    consolidated_classes_write(task_type=job.task_type, consolidated=[moved])
    firsts = ConsolidatedLabelClass.objects.filter(job=job, first=True)
    assert firsts.get(item_id=ids[1]).label == "c"
    assert firsts.filter(item_id=ids[0]).get().label == "b"
    got = _paged(client_for(manager), job, 3, sort="label")
    assert got.index(ids[1]) > got.index(ids[0])


def test_a_single_label_job_sorts_as_before_without_the_label_classes(
    make_job, make_labeler, manager
):
    job = make_job(items=5)
    ann = make_labeler("ann")
    for label in ("dog", "cat", "dog"):
        answer_next(job, ann, label)
    labels = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "label"))
    every = list(Item.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    expected = sorted(every, key=lambda i: (0, "", i) if i not in labels else (1, labels[i], i))
    with CaptureQueriesContext(connection) as queries:
        got = _paged(client_for(manager), job, 2, sort="label")
    assert got == expected
    assert not [q for q in queries.captured_queries if "consolidatedlabelclass" in q["sql"]]


def test_each_row_shows_the_labels_its_value_contains(labeled_job, manager):
    """The label column shows what the sort reads: the value's labels, the first first."""
    job, ids = labeled_job
    response = client_for(manager).get(
        f"/api/v1/jobs/{job.pk}/items", {"sort": "label", "limit": 50}
    )
    rows = {row["id"]: row["labels"] for row in response.json()["results"]}
    assert rows == {
        item_id: None if wanted is NONE else sorted(set(wanted))
        for item_id, wanted in zip(ids, POSITIONS, strict=True)
    }
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("console-job-items", args=[job.pk]), {"sort": "label"})
    cells = dict(
        re.findall(
            r'<tr data-item-id="(\d+)">.*?<td data-col="label">(.*?)</td>',
            page.content.decode(),
            re.S,
        )
    )
    assert cells[str(ids[4])] == "a, c"  # answered ("c", "a")
    assert cells[str(ids[3])] == "(none)"
    assert cells[str(ids[2])] == "–"


def test_a_single_label_jobs_rows_have_no_labels_list(make_job, make_labeler, manager):
    job = make_job(items=2)
    answer_next(job, make_labeler("ann"), "dog")
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/items", {"sort": "id"})
    rows = response.json()["results"]
    assert [(row["label"], row["labels"]) for row in rows] == [("dog", None), (None, None)]
