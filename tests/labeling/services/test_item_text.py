"""The data manager's search text: written at once for a few items, after the commit for many;
the search finds every item whose data matches before, during and after the fill."""

import pytest

from labeling.console.query import BACKLOG_RANGES_READ
from labeling.models import Item, ItemText, ItemTextBacklog
from labeling.services.item_text import ITEM_TEXT_INLINE, item_text_fill, item_text_store
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db

MANY = ITEM_TEXT_INLINE + 50


def _search(manager, job, text: str) -> list[int]:
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/items", {"q": text, "limit": 200})
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _item_ids(job) -> list[int]:
    return list(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True))


def _texts(job) -> dict[int, str]:
    return dict(ItemText.objects.filter(item__job_id=job.pk).values_list("item_id", "text"))


def test_a_few_items_get_their_text_in_the_creating_transaction(make_job):
    job = make_job(items=3)
    items = Item.objects.filter(job=job).order_by("id")
    assert _texts(job) == {item.pk: item.data for item in items}
    assert not ItemTextBacklog.objects.filter(job=job).exists()


def test_an_import_of_many_items_is_searchable_before_and_after_the_fill(
    make_job, manager, django_capture_on_commit_callbacks
):
    job = make_job(items=0, start=False)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        run = import_lines(job, manager, [{"source": f"text {i}", "n": i} for i in range(MANY)])
    assert run.status == "succeeded", run.errors
    assert enqueued, "the fill is enqueued after the commit"
    ids = _item_ids(job)
    backlog = ItemTextBacklog.objects.get(job=job)
    assert (backlog.first_item_id, backlog.last_item_id) == (ids[0], ids[-1])
    assert _texts(job) == {}
    # Not written yet: found by their data.
    assert _search(manager, job, "TEXT 142") == [ids[142]]
    assert _search(manager, job, "no such words") == []

    assert item_text_fill(batch=100) == 100
    assert len(_texts(job)) == 100
    assert ItemTextBacklog.objects.get(job=job).first_item_id == ids[100]
    # Half written: both halves found.
    assert _search(manager, job, '"n": 14') == [ids[14]] + ids[140:150]
    assert item_text_fill(batch=100) == MANY - 100
    assert item_text_fill() == 0
    assert not ItemTextBacklog.objects.exists()
    assert _texts(job) == dict(Item.objects.filter(job=job).values_list("id", "data"))
    assert _search(manager, job, '"n": 14') == [ids[14]] + ids[140:150]
    assert _search(manager, job, "text 142") == [ids[142]]


def test_changed_data_is_found_by_its_new_text_only(make_job, manager):
    job = make_job(items=3)
    first = _item_ids(job)[0]
    Item.objects.filter(pk=first).update(data='{"source": "a zebra"}')
    item_text_store(job_id=job.pk, first_item_id=first, last_item_id=first)
    assert _search(manager, job, "zebra") == [first]
    assert _search(manager, job, "text 0") == []


def test_another_jobs_items_between_the_ids_are_left_alone(make_job, manager):
    job = make_job(items=2, start=False)
    other = make_job(items=2, start=False)
    ItemText.objects.all().delete()
    ids = sorted(_item_ids(job) + _item_ids(other))
    item_text_store(job_id=job.pk, first_item_id=ids[0], last_item_id=ids[-1])
    assert set(_texts(job)) == set(_item_ids(job))
    assert _texts(other) == {}


def test_many_backlog_ranges_are_read_as_one_span(make_job, manager):
    job = make_job(items=0, start=False)
    import_lines(job, manager, [{"source": f"text {i}"} for i in range(MANY)])
    ids = _item_ids(job)
    for start in range(BACKLOG_RANGES_READ):
        item_text_store(job_id=job.pk, first_item_id=ids[start], last_item_id=ids[-1])
    assert ItemTextBacklog.objects.filter(job=job).count() > BACKLOG_RANGES_READ
    assert _search(manager, job, "text 149") == [ids[149]]
    assert _search(manager, job, "text 3") == [ids[3]] + ids[30:40]


def test_bad_ranges_and_batches_are_refused(make_job):
    job = make_job(items=1)
    with pytest.raises(ValueError, match="first item id"):
        item_text_store(job_id=job.pk, first_item_id=5, last_item_id=4)
    with pytest.raises(ValueError, match="batch"):
        item_text_fill(batch=0)


def test_deleting_items_deletes_their_text(make_job):
    job = make_job(items=3)
    first = _item_ids(job)[0]
    Item.objects.filter(pk=first).delete()
    assert first not in _texts(job) and len(_texts(job)) == 2
