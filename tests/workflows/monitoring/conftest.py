"""Fixtures of the monitoring tests: a flow whose every prediction is audited, predictions
routed for real, and labels given in bulk (the volume tests need hundreds)."""

import itertools
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from workflows.models import HumanLoop
from workflows.services.predictions import predictions_route
from workflows.states import HumanLoopStatus

_ids = itertools.count(1)


def post(flow, n, *, version="v1", label="cat", confidence=0.9, predicted_at=None, **extra):
    """Route ``n`` predictions of one model version; returns their loops (if any), in order."""
    predictions = []
    for _ in range(n):
        number = next(_ids)
        prediction = {"label": label, "confidence": confidence, "model_version": version}
        if predicted_at is not None:
            prediction["predicted_at"] = predicted_at.isoformat()
        prediction.update(extra)
        predictions.append(
            {"id": f"p-{number}", "input": {"source": f"text {number}"}, "prediction": prediction}
        )
    results = []
    for start in range(0, n, 1000):
        results += predictions_route(flow=flow, predictions=predictions[start : start + 1000])
    names = [row["loop"] for row in results if row["decision"] == "review"]
    by_name = {loop.name: loop for loop in HumanLoop.objects.filter(name__in=names)}
    return [by_name[name] for name in names]


def give_labels(loops, correct, *, at: datetime | None = None, wrong_label="dog"):
    """Complete the loops as if people answered: ``correct`` (a bool or a list of bools) says
    whether each human label is the model's. Labels arrive one second apart from ``at``
    (by default so that the last one arrived now)."""
    at = at or timezone.now() - timedelta(seconds=len(loops))
    flags = correct if isinstance(correct, list) else [correct] * len(loops)
    for position, (loop, right) in enumerate(zip(loops, flags, strict=True)):
        loop.status = HumanLoopStatus.COMPLETED
        loop.human_label = loop.model_label if right else wrong_label
        loop.agrees = bool(right)
        loop.completed_at = at + timedelta(seconds=position)
    HumanLoop.objects.bulk_update(
        loops, ["status", "human_label", "agrees", "completed_at"], batch_size=500
    )


@pytest.fixture
def audited_flow(make_flow):
    """A flow that audits every prediction (so each is in the random sample)."""

    def make(**fields):
        values = {"sample_percent": 100}
        values.update(fields)
        return make_flow(**values)

    return make
