"""Baselines of model versions: stated by a manager, posted with validation metrics, or
estimated from the version's first audited window."""

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from labeling.errors import ValidationFailed
from workflows.models import Flow, ModelBaseline
from workflows.monitoring.selectors import AuditedLoop
from workflows.monitoring.stats import wilson, window_start
from workflows.states import BaselineSource

# The first audited window is the first day of prediction time, extended by whole days until
# it holds this many audited labels.
FIRST_WINDOW_MIN_LABELS = 200
MAX_VERSION_CHARS = 100


def baseline_set(
    *,
    flow: Flow,
    model_version: str,
    accuracy: float | None = None,
    metrics: dict[str, Any] | None = None,
) -> ModelBaseline:
    """State a version's baseline, or post its validation metrics (``metrics["accuracy"]`` is
    the baseline then). Replaces an earlier one."""
    if not isinstance(model_version, str) or len(model_version) > MAX_VERSION_CHARS:
        raise ValidationFailed("model_version: a string of at most 100 characters")
    if metrics is not None and not isinstance(metrics, dict):
        raise ValidationFailed("metrics: an object of validation metrics")
    source = BaselineSource.STATED
    if accuracy is None and metrics is not None:
        accuracy, source = metrics.get("accuracy"), BaselineSource.VALIDATION
    elif metrics:
        source = BaselineSource.VALIDATION
    if isinstance(accuracy, bool) or not isinstance(accuracy, int | float) or not 0 < accuracy <= 1:
        raise ValidationFailed(
            "accuracy (or metrics.accuracy): a number above 0 and at most 1",
            details={"field": "accuracy"},
        )
    with transaction.atomic():
        baseline, _ = ModelBaseline.objects.update_or_create(
            flow=flow,
            model_version=model_version,
            defaults={"accuracy": float(accuracy), "source": source, "metrics": metrics or {}},
        )
    return baseline


def baseline_from_first_window(
    *, flow: Flow, model_version: str, audited: list[AuditedLoop], now: datetime
) -> ModelBaseline | None:
    """Estimate a version's baseline from its first audited day(s) once they have ended and
    hold enough labels; None until then. Stored, so it is estimated once."""
    if not audited:
        return None
    first = min(row.outcome.predicted_at for row in audited)
    start = window_start(first, "day")
    end = start + timedelta(days=1)
    while end <= now:
        inside = [row for row in audited if row.outcome.predicted_at < end]
        if len(inside) >= FIRST_WINDOW_MIN_LABELS:
            correct = sum(row.outcome.correct for row in inside)
            low, high = wilson(correct, len(inside))
            metrics = {
                "labels": len(inside),
                "correct": correct,
                "low": low,
                "high": high,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
            }
            try:
                with transaction.atomic():
                    return ModelBaseline.objects.create(
                        flow=flow,
                        model_version=model_version,
                        accuracy=correct / len(inside),
                        source=BaselineSource.FIRST_WINDOW,
                        metrics=metrics,
                    )
            except IntegrityError:
                return ModelBaseline.objects.get(flow=flow, model_version=model_version)
        end += timedelta(days=1)
    return None


def baseline_window_end(baseline: ModelBaseline) -> datetime | None:
    """Where a first-window baseline's labels end: the detector watches only after it."""
    if baseline.source != BaselineSource.FIRST_WINDOW:
        return None
    return datetime.fromisoformat(baseline.metrics["window_end"])
