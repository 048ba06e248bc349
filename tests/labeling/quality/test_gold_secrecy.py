"""Gold stays secret: neither the order of a labeler's tasks, nor any field of what they
receive, nor the work a claim or a submit costs tells a gold item from an ordinary one.

One labeler works through a job of 300 items, 30 of them gold (10 %), through the API. From
what they could record (each task's place in their sequence, its item id and the jump from
the previous id, every response field, the queries each request costs) a threshold rule on
any one feature does no better than chance. Timing itself is never asserted here (that is
bench/'s business); the work per request is, as its query count.
"""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import GoldItem, Item
from labeling.quality.services.gold import gold_item_mark
from labeling.quality.services.reliability import job_quality_configure
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ITEMS = 300
GOLD = 30


@pytest.fixture(autouse=True)
def _token_read_on_every_request(settings):
    """The statements of every request are compared: the API token is read on each one here.
    (A web process re-reads a remembered token once its cache time has passed, whatever the
    request: with the cache on, one request in many would cost one statement more, by the
    clock, not by the item.)"""
    settings.QUORUM_API_TOKEN_CACHE_SECONDS = 0


def _auc(gold: list[float], ordinary: list[float]) -> float:
    """Mann-Whitney AUC of ``value`` as a score for "gold": 0.5 is chance, 1 or 0 perfect."""
    wins = 0.0
    for g in gold:
        for o in ordinary:
            wins += 1.0 if g > o else 0.5 if g == o else 0.0
    return wins / (len(gold) * len(ordinary))


def _gold_job(make_job, *, workers_per_item: int, gold_rate: float):
    """300 items; 30 of them, spread through the job, are made gold (the manager marks them)."""
    job = make_job(items=ITEMS, workers_per_item=workers_per_item)
    ids = list(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True))
    for item_id in random.Random(12).sample(ids, GOLD):
        gold_item_mark(job=job, item_id=item_id, label="dog")
    return job_quality_configure(job=job, gold_rate=gold_rate)


def _work_through(job, labeler) -> list[dict]:
    """Claim and submit until the labeler gets 204; what each step showed and cost."""
    client = client_for(labeler)
    steps = []
    while True:
        connection.queries_log.clear()  # the log keeps 9,000 queries: count each step afresh
        with CaptureQueriesContext(connection) as claim_queries:
            claimed = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        if claimed.status_code == 204:
            return steps
        assert claimed.status_code == 200, claimed.content
        lease = claimed.json()
        with CaptureQueriesContext(connection) as submit_queries:
            submitted = client.post(
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                {"answer": {"label": "cat"}},
                format="json",
            )
        assert submitted.status_code == 201, submitted.content
        steps.append(
            {
                "lease": lease,
                "answer": submitted.json(),
                "claim_queries": len(claim_queries),
                "submit_queries": len(submit_queries),
            }
        )


def _shape(body: dict) -> dict:
    """Every field of a response with its type, and the values that are not per-item."""
    return {
        key: (type(value).__name__, value if key in ("status", "job_id") else None)
        for key, value in body.items()
    }


@pytest.mark.parametrize("workers_per_item", [1, 2])
def test_order_fields_and_claim_cost_do_not_tell_gold(make_job, labeler, workers_per_item):
    job = _gold_job(make_job, workers_per_item=workers_per_item, gold_rate=1.0)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    steps = _work_through(job, labeler)

    served = [step["lease"]["item"]["id"] for step in steps]
    assert len(served) == ITEMS and set(served) >= gold_ids  # every gold item, once
    assert served == sorted(served)  # one order for all: the queue's, gold included
    is_gold = [item_id in gold_ids for item_id in served]
    assert sum(is_gold) / len(is_gold) == pytest.approx(0.10)

    features = {
        "position": list(range(len(steps))),
        "id jump": [0] + [b - a for a, b in zip(served, served[1:], strict=False)],
        "claim queries": [step["claim_queries"] for step in steps],
        "lease length": [
            len(str(step["lease"])) - len(str(step["lease"]["item"])) for step in steps
        ],
        "time limit": [step["lease"]["time_limit_seconds"] for step in steps],
    }
    for name, values in features.items():
        gold = [v for v, g in zip(values, is_gold, strict=True) if g]
        ordinary = [v for v, g in zip(values, is_gold, strict=True) if not g]
        assert abs(_auc(gold, ordinary) - 0.5) <= 0.1, (name, _auc(gold, ordinary))

    # The same statements for every claim: not one query more or less for gold.
    assert {step["claim_queries"] for step in steps} == {steps[0]["claim_queries"]}
    # The same fields, of the same types, in every lease and every submit response.
    shapes = {repr(_shape(step["lease"])) for step in steps}
    shapes |= {repr(_shape(step["lease"]["item"])) for step in steps}
    assert len(shapes) == 2
    assert len({repr(_shape(step["answer"])) for step in steps}) == 1
    assert not any("gold" in str(step).lower() or "dog" in str(step["answer"]) for step in steps)


def test_a_submit_to_gold_costs_what_an_ordinary_submit_costs(make_job, labeler):
    """Two workers per item: a lone labeler's answers complete no ordinary item, so every
    submit does the same work, and a gold one does not one query more (its score is the one
    statement every submit of a job with gold runs)."""
    job = _gold_job(make_job, workers_per_item=2, gold_rate=1.0)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    steps = _work_through(job, labeler)
    gold = {s["submit_queries"] for s in steps if s["lease"]["item"]["id"] in gold_ids}
    ordinary = {s["submit_queries"] for s in steps if s["lease"]["item"]["id"] not in gold_ids}
    assert gold == ordinary and len(gold) == 1


def test_a_claim_costs_the_same_whatever_the_share_of_gold(make_job, labeler):
    """All gold or a tenth of it: the same statements for every claim. (A job with gold claims
    by the queue walk that places gold, a job without by the window and the worker's cursor
    (docs/claiming.md): the cost may tell whether a job has gold, never which items are.)"""
    all_gold = _work_through(_gold_job(make_job, workers_per_item=1, gold_rate=1.0), labeler)
    some_gold = _work_through(_gold_job(make_job, workers_per_item=1, gold_rate=0.1), labeler)
    assert len({s["claim_queries"] for s in all_gold + some_gold}) == 1


def test_each_worker_gets_the_gold_rates_share_of_gold_in_queue_order(make_job, make_labeler):
    job = _gold_job(make_job, workers_per_item=3, gold_rate=0.5)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    got = []
    for name in ("g1", "g2", "g3"):
        served = [s["lease"]["item"]["id"] for s in _work_through(job, make_labeler(name))]
        assert served == sorted(served)
        got.append({item_id for item_id in served if item_id in gold_ids})
    for share in got:
        assert 0.3 * GOLD <= len(share) <= 0.7 * GOLD
    assert len({frozenset(share) for share in got}) == 3  # not the same gold for everyone
