"""The data manager's sorts on label columns and last activity, read segment by segment
(labeling/console/sorting.py): every keyset page size gives each item exactly once, in the
order of the column then the id, both ways, with and without a filter."""

import base64
import json

import pytest
from django.db.models import Max

from labeling.models import Annotation, ConsolidatedLabel, GoldItem, Item
from tests.labeling.console.helpers import answer_next

pytestmark = pytest.mark.django_db

SEGMENTED = ("label", "confidence", "source", "reviewed", "gold", "last_activity")


@pytest.fixture
def mixed_job(make_job, make_labeler):
    """Twelve items: seven answered once (ties on label and confidence), three labeled by a
    model with several confidences, two with neither; one reviewed, two gold."""
    job = make_job(items=12, workers_per_item=1)
    ann, bob = make_labeler("ann"), make_labeler("bob")
    for index, label in enumerate(("cat", "dog", "cat", "bird", "cat", "dog", "cat")):
        answer_next(job, ann if index % 2 else bob, label)
    ids = list(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True))
    answered = set(Annotation.objects.filter(job=job).values_list("item_id", flat=True))
    untouched = [item_id for item_id in ids if item_id not in answered]
    for item_id, label, confidence in zip(
        untouched[:3], ("dog", "ant", "dog"), (0.55, 0.9, 0.55), strict=True
    ):
        ConsolidatedLabel.objects.create(
            item_id=item_id,
            job=job,
            value={"label": label},
            label=label,
            confidence=confidence,
            method="model",
            human_annotated=False,
        )
    reviewed = sorted(answered)[2]
    ConsolidatedLabel.objects.filter(item_id=reviewed).update(method="manual")
    for item_id in (sorted(answered)[0], untouched[1]):
        GoldItem.objects.create(item_id=item_id, job=job, label="cat")
    return job


def _expected(job, column: str, descending: bool, only: set[int] | None = None) -> list[int]:
    labels = {row.item_id: row for row in ConsolidatedLabel.objects.filter(job=job)}
    gold = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    latest = dict(
        Annotation.objects.filter(job=job)
        .values("item_id")
        .annotate(last=Max("id"))
        .values_list("item_id", "last")
    )

    def key(item_id: int) -> tuple:
        label = labels.get(item_id)
        if column == "label":
            return (0, "", item_id) if label is None else (1, label.label, item_id)
        if column == "confidence":
            return (0, 0.0, item_id) if label is None else (1, label.confidence, item_id)
        if column == "source":
            return (0 if label is None else 2 if label.human_annotated else 1, item_id)
        if column == "reviewed":
            return (int(label is not None and label.method == "manual"), item_id)
        if column == "gold":
            return (int(item_id in gold), item_id)
        return (0, item_id) if item_id not in latest else (1, latest[item_id])

    ids = [i for i in Item.objects.filter(job=job).values_list("id", flat=True)]
    ids = [i for i in ids if only is None or i in only]
    return sorted(ids, key=key, reverse=descending)


def _paged(client, job, limit: int, **params) -> list[int]:
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


def test_each_segmented_sort_pages_every_item_once_in_order(manager_client, mixed_job):
    for column in SEGMENTED:
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            expected = _expected(mixed_job, column, descending)
            assert len(set(expected)) == 12
            for limit in (1, 3, 5, 50):
                assert _paged(manager_client, mixed_job, limit, sort=sort) == expected, (
                    sort,
                    limit,
                )


def test_segmented_sorts_keep_the_filter(manager_client, mixed_job):
    open_items = set(Item.objects.filter(job=mixed_job, status="open").values_list("id", flat=True))
    assert 0 < len(open_items) < 12
    for column in SEGMENTED:
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            expected = _expected(mixed_job, column, descending, only=open_items)
            got = _paged(manager_client, mixed_job, 2, sort=sort, status="open")
            assert got == expected, sort


def test_a_cursor_of_another_sort_is_refused(manager_client, mixed_job):
    url = f"/api/v1/jobs/{mixed_job.pk}/items"
    by_id = manager_client.get(url, {"limit": 2}).json()["next_cursor"]
    by_label = manager_client.get(url, {"limit": 2, "sort": "label"}).json()["next_cursor"]
    forged = [
        _cursor([{"x": 1}, 1, 1]),
        _cursor(["high", 1, 1]),
        _cursor([0.5, 1, 7]),
        _cursor([None, "1", 0]),
    ]
    cases = [{"sort": "label", "cursor": by_id}, {"sort": "id", "cursor": by_label}]
    cases += [{"sort": "-confidence", "cursor": cursor} for cursor in forged]
    cases += [{"sort": "last_activity", "cursor": cursor} for cursor in forged]
    for params in cases:
        response = manager_client.get(url, params)
        assert response.status_code == 400, params
        assert response.json()["error"]["details"]["field"] == "cursor"


def _cursor(key: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
