"""Routing model predictions: each stands, or becomes a human loop; once per prediction id.

Idempotency rests on the unique (flow, prediction id) constraint, not on a read before the
write: a batch inserts its rows with ON CONFLICT DO NOTHING and reads them back; the rows
that carry this request's token are the ones it created, and only those start loops. A
repeated id gets the decision stored the first time.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from labeling.errors import ValidationFailed
from workflows.conditions import decide
from workflows.models import Flow, Prediction
from workflows.services.loop_inputs import check_model_label, model_of_prediction
from workflows.services.loops import (
    LoopSpec,
    human_loops_create,
)
from workflows.states import Decision

MAX_PREDICTIONS_PER_CALL = 1000
INSERT_BATCH_SIZE = 1000
MAX_PREDICTION_ID_CHARS = 200
MAX_PREDICTION_AGE = timedelta(days=30)


@dataclass(frozen=True)
class Routed:
    prediction_id: str
    decision: str
    loop_name: str
    reason: str
    repeated: bool

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.prediction_id, "decision": self.decision}
        if self.decision == Decision.REVIEW:
            body["loop"] = self.loop_name
            body["reason"] = self.reason
        if self.repeated:
            body["repeated"] = True
        return body


def loop_name_for(flow: Flow, prediction_id: str) -> str:
    """A loop name fixed by the flow and the prediction id (1–63 of a-z, 0-9, hyphen)."""
    digest = hashlib.sha256(f"{flow.pk}\0{prediction_id}".encode()).hexdigest()[:24]
    return f"{flow.name[:30]}-{digest}"


@dataclass(frozen=True)
class _Cleaned:
    prediction_id: str
    content: Any
    label: str
    confidence: float | None
    model_name: str
    model_version: str
    predicted_at: datetime | None


def _predicted_at(value: Any, where: str, now: datetime) -> datetime | None:
    """An optional ISO 8601 time of the prediction: not in the future, at most 30 days old."""
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if moment is None or moment > now + timedelta(minutes=5) or moment < now - MAX_PREDICTION_AGE:
        raise ValidationFailed(
            f"{where}.predicted_at: an ISO 8601 time within the last 30 days",
            details={"field": "predicted_at"},
        )
    return moment


def _clean(raw: Any, position: int, labels: list[str], now: datetime) -> _Cleaned:
    where = f"predictions[{position}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: an object with id, input and prediction")
    prediction_id = raw.get("id")
    if isinstance(prediction_id, int) and not isinstance(prediction_id, bool):
        prediction_id = str(prediction_id)
    if not isinstance(prediction_id, str) or not 1 <= len(prediction_id) <= 200:
        raise ValidationFailed(f"{where}.id: a string of 1 to {MAX_PREDICTION_ID_CHARS} characters")
    if "input" not in raw:
        raise ValidationFailed(f"{where}.input: required (any JSON)")
    prediction = raw.get("prediction")
    if not isinstance(prediction, dict):
        raise ValidationFailed(f"{where}.prediction: an object with label and confidence")
    label = prediction.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        raise ValidationFailed(f"{where}.prediction.label: a string of at most 200 characters")
    # Before the conditions: whether the answer is a refusal must not depend on the sampling.
    check_model_label(labels=labels, label=label, where=f"{where}.prediction.label")
    confidence = prediction.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 <= confidence <= 1
    ):
        raise ValidationFailed(f"{where}.prediction.confidence: a number from 0 to 1")
    try:
        model_name, model_version = model_of_prediction(prediction)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{where}.{exc.message}", details=exc.details) from None
    return _Cleaned(
        prediction_id,
        raw["input"],
        label,
        None if confidence is None else float(confidence),
        model_name,
        model_version,
        _predicted_at(prediction.get("predicted_at", raw.get("predicted_at")), where, now),
    )


def predictions_route(*, flow: Flow, predictions: list[Any]) -> list[dict[str, Any]]:
    """Decide each prediction; start loops for those that go to people. In input order."""
    if not isinstance(predictions, list) or not 1 <= len(predictions) <= MAX_PREDICTIONS_PER_CALL:
        raise ValidationFailed(f"send 1 to {MAX_PREDICTIONS_PER_CALL} predictions per call")
    labels = flow.job.labels
    now = timezone.now()
    cleaned = [_clean(raw, position, labels, now) for position, raw in enumerate(predictions)]
    token = uuid.uuid4()
    rows: dict[str, Prediction] = {}
    specs: dict[str, LoopSpec] = {}
    salt = str(flow.pk)
    for one in cleaned:
        prediction_id, content, label, confidence = (
            one.prediction_id,
            one.content,
            one.label,
            one.confidence,
        )
        if prediction_id in rows:
            continue
        verdict = decide(
            flow.conditions,
            flow.sample_percent,
            content=content,
            label=label,
            confidence=confidence,
            salt=salt,
        )
        name = loop_name_for(flow, prediction_id) if verdict.review else ""
        rows[prediction_id] = Prediction(
            flow=flow,
            prediction_id=prediction_id,
            decision=Decision.REVIEW if verdict.review else Decision.ACCEPTED,
            reason=verdict.reason,
            label=label,
            confidence=confidence,
            model_name=one.model_name,
            model_version=one.model_version,
            predicted_at=one.predicted_at,
            loop_name=name,
            request_token=token,
            created_at=now,
        )
        if verdict.review:
            raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
            specs[prediction_id] = LoopSpec(
                name,
                raw,
                content,
                label,
                confidence,
                model_name=one.model_name,
                model_version=one.model_version,
                route_reason=verdict.reason,
                predicted_at=one.predicted_at or now,
            )
    with transaction.atomic():
        # In id order: two calls whose batches overlap wait for each other, never deadlock.
        Prediction.objects.bulk_create(
            sorted(rows.values(), key=lambda row: row.prediction_id),
            batch_size=INSERT_BATCH_SIZE,
            ignore_conflicts=True,
        )
        stored = {
            prediction_id: (decision, loop_name, reason, row_token == token)
            for prediction_id, decision, loop_name, reason, row_token in Prediction.objects.filter(
                flow=flow, prediction_id__in=list(rows)
            ).values_list("prediction_id", "decision", "loop_name", "reason", "request_token")
        }
        mine = [pid for pid, (_, _, _, ours) in stored.items() if ours]
        new_loops = [specs[pid] for pid in mine if pid in specs]
        human_loops_create(flow=flow, specs=new_loops)
        if mine:
            Flow.objects.filter(pk=flow.pk).update(
                predictions_total=F("predictions_total") + len(mine),
                predictions_reviewed=F("predictions_reviewed") + len(new_loops),
            )
    results = []
    for one in cleaned:
        prediction_id = one.prediction_id
        decision, loop_name, reason, ours = stored[prediction_id]
        results.append(Routed(prediction_id, decision, loop_name, reason, not ours).as_dict())
    return results
