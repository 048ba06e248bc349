"""The data manager's agreement on drawing and span jobs: the mean pairwise similarity of an
item's answers stored at consolidation (``ConsolidatedLabel.agreement``), not the consolidation's
confidence, which reads 1.00 wherever every worker drew every shape however far apart."""

import io

import pytest
from django.core.management import call_command

from labeling.models import ConsolidatedLabel, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.consolidation import item_label_store
from labeling.services.jobs import job_create, job_start
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import boxes_answer, spans_answer, write_image

pytestmark = pytest.mark.django_db

LABELS = ["car", "person"]
CAR = ("car", 10, 10, 60, 40)
CAR_NEARLY = ("car", 11, 10, 60, 40)  # IoU ≈ 0.97 with CAR
CAR_SHIFTED = ("car", 20, 15, 60, 40)  # IoU ≈ 0.57: the same box to the vote, not alike


@pytest.fixture
def box_job(settings, manager, team):
    write_image(settings.MEDIA_ROOT, "street.png", size=(320, 200))
    job = job_create(
        created_by=manager, name="boxes", task_type="image-bounding-box", labels=LABELS,
        team=team, workers_per_item=2,
    )  # fmt: skip
    run = import_lines(job, manager, [{"source-ref": "street.png", "n": n} for n in range(4)])
    assert run.status == "succeeded", run.errors
    job_start(job=job, by=manager)
    return job


@pytest.fixture
def span_job(make_job):
    # The items' text is "text N" (six characters).
    return make_job(items=4, workers_per_item=2, task_type="text-entity-recognition", labels=LABELS)


def _answer_items(job, workers, plan):
    """Each of ``plan``'s answer pairs on the next item, in id order; returns the item ids."""
    ids = []
    for answers in plan:
        item_id = None
        for worker, answer in zip(workers, answers, strict=True):
            lease = assignment_claim(job=job, worker=worker)
            assert lease is not None
            item_id = lease.item_id
            annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
        ids.append(item_id)
    return ids


def _get(job, **params):
    response = client_for(job.created_by).get(f"/api/v1/jobs/{job.pk}/items", params)
    assert response.status_code == 200, response.content
    return response.json()


def _ids(job, **params):
    return [row["id"] for row in _get(job, **params)["results"]]


PLANS = {
    # (near, far, legacy): the legacy item is "far" too, its agreement cleared afterwards as
    # a label consolidated before it was stored.
    "boxes": (
        (boxes_answer(CAR), boxes_answer(CAR_NEARLY)),
        (boxes_answer(CAR), boxes_answer(CAR_SHIFTED)),
        (boxes_answer(CAR), boxes_answer(CAR_SHIFTED)),
    ),
    "spans": (
        (spans_answer(("car", 0, 4)), spans_answer(("car", 0, 4))),
        (spans_answer(("car", 0, 4)), spans_answer(("car", 0, 2))),
        (spans_answer(("car", 0, 4)), spans_answer(("car", 0, 2))),
    ),
}


@pytest.fixture(params=sorted(PLANS))
def answered(request, box_job, span_job, make_labeler):
    """A job of the kind with its four items: near, far, legacy (labeled), and one open."""
    job = box_job if request.param == "boxes" else span_job
    workers = [make_labeler("w1"), make_labeler("w2")]
    near, far, legacy = _answer_items(job, workers, PLANS[request.param])
    ConsolidatedLabel.objects.filter(item_id=legacy).update(agreement=None)
    (open_item,) = Item.objects.filter(job=job, consolidated__isnull=True).values_list(
        "id", flat=True
    )
    return request.param, job, near, far, legacy, open_item


def test_the_stored_agreement_is_the_answers_mean_similarity(answered):
    kind, job, near, far, legacy, _ = answered
    stored = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "agreement"))
    confidence = dict(
        ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "confidence")
    )
    # Every worker drew every shape: the confidence cannot tell the items apart.
    assert confidence[near] == confidence[far] == 1.0
    assert stored[near] > 0.9
    expected_far = 1750 / 3050 if kind == "boxes" else 0.5  # IoU, span Jaccard
    assert stored[far] == pytest.approx(expected_far, abs=1e-3)
    assert stored[legacy] is None


def test_rows_sort_and_filters_read_the_stored_agreement(answered):
    _, job, near, far, legacy, open_item = answered
    rows = {row["id"]: row for row in _get(job)["results"]}
    assert rows[far]["agreement"] < 0.6 and rows[near]["agreement"] > 0.9
    assert rows[legacy]["agreement"] == 1.0  # stored before: the confidence, as before
    assert rows[open_item]["agreement"] is None
    # Sorted by agreement, the disagreement comes first after the unlabeled item.
    assert _ids(job, sort="agreement")[:2] == [open_item, far]
    assert _ids(job, sort="-agreement")[-2:] == [far, open_item]
    assert _ids(job, disagreement="yes") == [far]
    assert sorted(_ids(job, disagreement="no")) == sorted([near, legacy, open_item])
    assert _ids(job, agreement_max="0.8") == [far]
    assert sorted(_ids(job, agreement_min="0.8")) == sorted([near, legacy])


def test_paging_by_agreement_yields_each_item_once(answered):
    """One row a page: the stored agreement and the fallback confidence (on spans, the near
    item's 1.0 ties the legacy item's) page each item once, in the order of the whole list."""
    _, job, _, far, _, open_item = answered
    items = sorted(Item.objects.filter(job=job).values_list("id", flat=True))
    for sort in ("agreement", "-agreement"):
        whole = _ids(job, sort=sort)
        paged, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 1, **({"cursor": cursor} if cursor else {})}
            body = _get(job, **params)
            paged += [row["id"] for row in body["results"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert paged == whole and sorted(paged) == items, sort
        least_agreed = paged[:2] if sort == "agreement" else paged[::-1][:2]
        assert least_agreed == [open_item, far], sort


def test_a_label_without_stored_agreement_falls_back_to_its_confidence(answered):
    """Labels consolidated before the agreement was stored: the old confidence rule (a
    disagreement below 0.5), while the stored agreement of the others keeps its own rule."""
    _, job, near, far, legacy, _ = answered
    ConsolidatedLabel.objects.filter(item_id=legacy).update(confidence=0.4)
    assert _ids(job, disagreement="yes") == sorted([far, legacy])
    assert _get(job, agreement_max="0.45")["results"][0]["id"] == legacy
    ConsolidatedLabel.objects.filter(item_id=legacy).update(confidence=0.6)
    assert _ids(job, disagreement="yes") == [far]
    assert near not in _ids(job, agreement_max="0.7")


def test_the_backfill_stores_the_agreement_of_older_labels(answered, make_job):
    kind, job, near, far, legacy, _ = answered
    stored = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "agreement"))
    ConsolidatedLabel.objects.filter(job=job).update(agreement=None)
    other = make_job(items=1)  # single-label: skipped
    out = io.StringIO()
    call_command("item_agreement_backfill", "--batch", "1", stdout=out)
    again = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "agreement"))
    assert again[near] == stored[near] and again[far] == stored[far]
    assert again[legacy] == stored[far]  # the same answers as the far item
    assert f"job {job.pk}: 3 labels" in out.getvalue()
    assert f"job {other.pk}:" not in out.getvalue()
    assert _ids(job, disagreement="yes") == sorted([far, legacy])
    call_command("item_agreement_backfill", "--job", str(job.pk), stdout=out)
    assert out.getvalue().endswith("0 labels given their agreement\n")


def test_a_hooks_label_from_the_answers_stores_their_agreement(
    settings, manager, team, make_labeler
):
    """Issue 16: a consolidation hook labels an item from its answers (item_label_store)."""
    write_image(settings.MEDIA_ROOT, "street.png", size=(320, 200))
    job = job_create(
        created_by=manager, name="hooked", task_type="image-bounding-box", labels=LABELS,
        team=team, workers_per_item=3,
    )  # fmt: skip
    import_lines(job, manager, [{"source-ref": "street.png", "n": 0}])
    job_start(job=job, by=manager)
    (item_id,) = _answer_items(
        job,
        [make_labeler("h1"), make_labeler("h2")],
        [(boxes_answer(CAR), boxes_answer(CAR_SHIFTED))],
    )
    label = item_label_store(
        item_id=item_id, job_id=job.pk, value={"boxes": []}, label="", confidence=1.0,
        method="hook",
    )  # fmt: skip
    assert label.agreement == pytest.approx(1750 / 3050, abs=1e-3)
    assert ConsolidatedLabel.objects.get(pk=label.pk).agreement == label.agreement
