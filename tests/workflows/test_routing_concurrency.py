"""Concurrent routing calls with the same prediction ids start each loop exactly once.

Real threads, each with its own database connection (PostgreSQL in the services run, where
the unique constraint and ON CONFLICT DO NOTHING carry the guarantee)."""

import threading

import pytest
from django.db import connection

from workflows.models import HumanLoop, Prediction
from workflows.services.predictions import predictions_route

pytestmark = pytest.mark.django_db(transaction=True)
CALLERS = 4
PREDICTIONS = 50


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
