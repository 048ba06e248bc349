"""Retraining on decay: a model-quality alert, or enough new reviewed labels, asks for it.

Two ways, both taken when they apply: a flow whose dataset job has automated labeling gets a
training round of that job's learner (active_learning subscribes to ``retrain_requested``
and records the new version's validation metrics as its baseline); a flow with a webhook
gets a signed ``model.retrain`` event with a link to the reviewed labels since a time.
"""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from labeling.after_commit import on_commit_safely
from workflows.models import Flow, MonitorConfig
from workflows.monitoring.events import retrain_requested
from workflows.services.webhooks import flow_delivery_create
from workflows.states import WebhookEvent


def dataset_export_link(*, flow: Flow, since: datetime | None, fmt: str = "jsonl") -> str:
    """The reviewed labels of the flow since a time (the ground-truth export of the API),
    absolute when ``QUORUM_PUBLIC_URL`` is set."""
    query = {"format": fmt}
    if since is not None:
        query["since"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    path = reverse("api-flow-ground-truth", args=[flow.pk]) + "?" + urlencode(query)
    return getattr(settings, "QUORUM_PUBLIC_URL", "").rstrip("/") + path


def retrain_request(
    *, flow: Flow, reason: str, details: dict[str, Any] | None = None, now=None
) -> dict[str, Any]:
    """Ask for retraining (inside or outside a transaction): the signed webhook now, the
    training round after commit. Returns what was asked."""
    now = now or timezone.now()
    with transaction.atomic():
        config, _ = MonitorConfig.objects.select_for_update().get_or_create(flow=flow)
        since = config.retrained_at
        link = dataset_export_link(flow=flow, since=since)
        delivery = flow_delivery_create(
            flow=flow,
            event=WebhookEvent.MODEL_RETRAIN,
            payload={
                "reason": reason,
                "since": since.astimezone(UTC).isoformat().replace("+00:00", "Z")
                if since
                else None,
                "datasetExport": link,
                "details": details or {},
            },
        )
        MonitorConfig.objects.filter(pk=config.pk).update(retrained_at=now)
        job_id = flow.dataset_job_id
        if job_id:
            on_commit_safely(
                lambda: retrain_requested.send(
                    sender=Flow, flow_id=flow.pk, job_id=job_id, reason=reason, since=since
                ),
                what=f"asking for a training round of job {job_id}",
            )
    return {
        "reason": reason,
        "since": since,
        "dataset_export": link,
        "webhook": delivery is not None,
        "dataset_job": job_id,
    }
