"""Concurrent routing calls with the same prediction ids start each loop exactly once, and
concurrent starts of one flow are each counted once.

Real threads, each with its own database connection (PostgreSQL in the services run, where
the unique constraint and ON CONFLICT DO NOTHING carry the guarantee)."""

import json
import threading

import pytest
from django.db import connection

from labeling.errors import Conflict
from labeling.models import Item
from labeling.selectors import job_progress
from workflows.models import HumanLoop, HumanLoopStatusChange, Prediction
from workflows.services.loops import human_loop_start
from workflows.services.predictions import predictions_route

pytestmark = pytest.mark.django_db(transaction=True)
CALLERS = 4
PREDICTIONS = 50
STARTS_PER_CALLER = 20


def test_the_same_ids_routed_at_once_start_one_loop_each(make_flow):
    flow = make_flow(sample_percent=100)
    batch = [
        {"id": f"p{i}", "input": {"source": f"t{i}"}, "prediction": {"label": "cat"}}
        for i in range(PREDICTIONS)
    ]
    barrier = threading.Barrier(CALLERS)
    answers: list[list[dict]] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait()
            answers.append(predictions_route(flow=flow, predictions=batch))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(answers) == CALLERS
    names = {tuple(r["loop"] for r in answer) for answer in answers}
    assert len(names) == 1  # every caller got the same loop for each id
    fresh = [sum(not r.get("repeated") for r in answer) for answer in answers]
    assert sum(fresh) == PREDICTIONS  # each id was new to exactly one caller
    assert HumanLoop.objects.filter(flow=flow).count() == PREDICTIONS
    assert Prediction.objects.filter(flow=flow).count() == PREDICTIONS
    flow.refresh_from_db()
    assert flow.predictions_total == flow.predictions_reviewed == PREDICTIONS


def test_concurrent_starts_of_one_flow_count_every_item_and_each_name_once(make_flow):
    """StartHumanLoop's path: threads start loops on one flow at once, some with the same
    names; each name starts one loop, and the backing job counts exactly the loops started."""
    flow = make_flow()
    barrier = threading.Barrier(CALLERS)
    started: list[str] = []
    conflicts: list[str] = []
    errors: list[BaseException] = []

    def call(caller: int) -> None:
        try:
            barrier.wait()
            for n in range(STARTS_PER_CALLER):
                # Half the names are shared by every caller, half are the caller's own.
                name = f"shared-{n}" if n % 2 else f"own-{caller}-{n}"
                try:
                    human_loop_start(
                        flow=flow, name=name, input_content=json.dumps({"source": name})
                    )
                    started.append(name)
                except Conflict:
                    conflicts.append(name)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(c,)) for c in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    shared = STARTS_PER_CALLER // 2
    assert len(started) == len(set(started)) == CALLERS * (STARTS_PER_CALLER - shared) + shared
    assert len(conflicts) == (CALLERS - 1) * shared
    assert HumanLoop.objects.filter(flow=flow).count() == len(started)
    assert Item.objects.filter(job_id=flow.job_id).count() == len(started)
    progress = job_progress(job_id=flow.job_id)
    assert (progress.items_total, progress.items_labeled) == (len(started), 0)
    assert HumanLoopStatusChange.objects.filter(loop__flow=flow).count() == len(started)
