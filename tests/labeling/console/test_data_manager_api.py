"""GET /api/v1/jobs/{id}/items: the data manager's filters, sorts, keyset pages, permissions."""

import pytest

from labeling.models import GoldItem, Item
from tests.conftest import client_for
from tests.labeling.console.helpers import answer_next

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(make_labeler):
    return [make_labeler(name) for name in ("ann", "bob", "cyd")]


@pytest.fixture
def labeled_job(make_job, crowd):
    """Six items, three answers each on the first four: item 1 and 2 unanimous (cat, dog), 3 and
    4 split 2-1, 5 and 6 open (5 with one answer by ann)."""
    job = make_job(items=6, workers_per_item=3)
    ann, bob, cyd = crowd
    plan = [
        ("cat", "cat", "cat"),
        ("dog", "dog", "dog"),
        ("cat", "cat", "dog"),
        ("bird", "dog", "bird"),
    ]
    for answers in plan:
        for worker, label in zip(crowd, answers, strict=True):
            answer_next(job, worker, label)
    answer_next(job, ann, "cat")
    return job


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _get(client, job, **params):
    return client.get(f"/api/v1/jobs/{job.pk}/items", params)


def test_rows_carry_every_column(manager_client, labeled_job):
    rows = _get(manager_client, labeled_job).json()["results"]
    assert len(rows) == 6
    first, third, fifth = rows[0], rows[2], rows[4]
    assert first["preview"] == {"kind": "text", "text": "text 0"}
    assert first["status"] == "labeled" and first["answers"] == 3 and first["answers_needed"] == 3
    assert first["label"] == "cat" and first["source"] == "human" and first["agreement"] == 1.0
    assert first["url"] == f"/console/jobs/{labeled_job.pk}/items/{first['id']}"
    assert third["label"] == "cat" and third["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    assert fifth["status"] == "open" and fifth["label"] is None and fifth["answers"] == 1
    assert fifth["last_activity"] is not None and rows[5]["last_activity"] is None
    assert not first["gold"] and not first["reviewed"] and not first["review_requested"]


def test_each_filter_keeps_only_its_rows(manager_client, labeled_job):
    items = list(Item.objects.filter(job=labeled_job).order_by("id").values_list("id", flat=True))
    one, two, three, four, five, six = items
    GoldItem.objects.create(item_id=two, job=labeled_job, label="dog")
    Item.objects.filter(pk=six).update(priority=5, review_requested=True)
    expect = {
        (("status", "open"),): [five, six],
        (("status", "labeled"),): [one, two, three, four],
        (("label", "cat"),): [one, three],
        (("answers", "1"),): [five],
        (("answers_min", "1"), ("answers_max", "2")): [five],
        (("confidence_max", "0.9"),): [three, four],
        (("source", "human"),): [one, two, three, four],
        (("source", "none"),): [five, six],
        (("gold", "yes"),): [two],
        (("gold", "no"),): [one, three, four, five, six],
        (("agreement_max", "0.7"),): [three, four],
        (("agreement_min", "1"),): [one, two],
        (("disagreement", "yes"),): [three, four],
        (("worker", "ann"),): [one, two, three, four, five],
        (("review_requested", "yes"),): [six],
        (("priority_min", "1"),): [six],
        (("reviewed", "no"),): items,
        (("q", "TEXT 3"),): [four],
        (("active_after", "2000-01-01T00:00:00Z"),): [one, two, three, four, five],
        (("status", "labeled"), ("label", "bird")): [four],
    }
    for params, ids in expect.items():
        assert _ids(_get(manager_client, labeled_job, **dict(params))) == ids, params


def test_sort_on_each_column_both_ways_pages_by_cursor(manager_client, labeled_job):
    items = list(Item.objects.filter(job=labeled_job).order_by("id").values_list("id", flat=True))
    for column in (
        "id",
        "priority",
        "status",
        "answers",
        "label",
        "confidence",
        "source",
        "gold",
        "agreement",
        "reviewed",
        "last_activity",
    ):
        for sort in (column, f"-{column}"):
            whole = _ids(_get(manager_client, labeled_job, sort=sort))
            assert sorted(whole) == items, sort
            paged, cursor = [], None
            while True:
                params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
                body = _get(manager_client, labeled_job, **params).json()
                paged += [row["id"] for row in body["results"]]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert paged == whole, sort
    by_label = _get(manager_client, labeled_job, sort="label").json()["results"]
    assert [row["label"] for row in by_label] == [None, None, "bird", "cat", "cat", "dog"]
    by_answers = _ids(_get(manager_client, labeled_job, sort="-answers"))
    assert by_answers[-2:] == [items[4], items[5]]


def test_keyset_page_after_a_cursor_never_repeats_after_inserts(manager_client, labeled_job):
    first = _get(manager_client, labeled_job, limit=3).json()
    Item.objects.create(job=labeled_job, data='{"source": "late"}')
    second = _get(manager_client, labeled_job, limit=3, cursor=first["next_cursor"]).json()
    seen = [row["id"] for row in first["results"]]
    assert not set(seen) & {row["id"] for row in second["results"]}
    assert len(second["results"]) == 3


def test_count_and_bad_queries(manager_client, labeled_job):
    count = manager_client.get(f"/api/v1/jobs/{labeled_job.pk}/items/count", {"status": "open"})
    assert count.json() == {"count": 2}
    for params, field in (
        ({"sort": "data"}, "sort"),
        ({"status": "maybe"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"confidence_min": "high"}, "confidence_min"),
        ({"limit": "1000"}, "limit"),
    ):
        response = _get(manager_client, labeled_job, **params)
        assert response.status_code == 400, params
        assert response.json()["error"]["details"]["field"] == field


def test_only_managers_list_items(labeled_job, crowd, client):
    labeler_response = client_for(crowd[0]).get(f"/api/v1/jobs/{labeled_job.pk}/items")
    assert labeler_response.status_code == 403
    assert client.get(f"/api/v1/jobs/{labeled_job.pk}/items").status_code in (401, 403)
    assert client_for(crowd[0]).get(f"/api/v1/jobs/{labeled_job.pk}/live").status_code == 403


def test_the_page_is_for_managers(labeled_job, crowd, client, manager):
    url = f"/console/jobs/{labeled_job.pk}/items"
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(crowd[0])
    assert client.get(url).status_code == 403
    client.force_login(manager)
    page = client.get(url, {"label": "cat", "sort": "-confidence"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="pick"') == 2 and 'aria-sort="descending"' in html
    bad = client.get(url, {"status": "maybe"})
    assert bad.status_code == 200 and "status is one of" in bad.content.decode()
