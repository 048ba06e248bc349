"""Drift alerts: run the sequential detectors over each model version's audited labels and
keep the flow's alerts in step (open, clear), with their webhooks, the audit boost and the
retraining trigger.

The detectors are recomputed from the labels in arrival order on every evaluation, so an
evaluation is idempotent: an episode is named by the loop whose label fired it, and the
unique (flow, version, kind, loop) constraint keeps it from opening twice.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.models import Job
from workflows.models import Flow, JobQualityAlert, ModelBaseline, MonitorConfig, QualityAlert
from workflows.monitoring.selectors import (
    AuditedLoop,
    alert_as_dict,
    audited_loops,
    baseline_of,
    job_alert_as_dict,
    model_versions,
    monitor_config_of,
    reviewed_since,
)
from workflows.monitoring.services.baselines import (
    baseline_from_first_window,
    baseline_window_end,
)
from workflows.monitoring.services.retrain import retrain_request
from workflows.monitoring.stats import (
    Detection,
    accuracy_detector,
    calibration_detector,
    confusion,
    threshold_for,
    window_start,
)
from workflows.services.webhooks import flow_delivery_create
from workflows.states import AlertKind, AlertStatus, WebhookEvent

# The calibration detector is tuned to see a gap this much above its tolerance fastest.
CALIBRATION_DESIGN_GAP = 0.05


def _window_of(stretch: list[AuditedLoop]) -> tuple[str, datetime]:
    first = min(row.outcome.predicted_at for row in stretch)
    last = max(row.outcome.predicted_at for row in stretch)
    window = "hour" if last - first < timedelta(days=2) else "day"
    return window, window_start(first, window)


def _sync(
    *,
    flow: Flow,
    version: str,
    kind: str,
    detection: Detection,
    stream: list[AuditedLoop],
    baseline: float,
    threshold: float,
    labels: list[str],
) -> list[QualityAlert]:
    """Open the episodes not yet recorded and clear the recorded ones that cleared; returns
    the alerts opened now."""
    opened = []
    for episode in detection.episodes:
        fired = stream[episode.fired_at_label]
        stretch = stream[episode.started_at_label : episode.fired_at_label + 1]
        window, start = _window_of(stretch)
        cleared_at = (
            stream[episode.cleared_at_label].completed_at
            if episode.cleared_at_label is not None
            else None
        )
        with transaction.atomic():
            alert = QualityAlert.objects.filter(
                flow=flow, model_version=version, kind=kind, fired_by_loop_id=fired.loop_id
            ).first()
            if alert is None:
                alert = QualityAlert(
                    flow=flow,
                    model_version=version,
                    kind=kind,
                    fired_by_loop_id=fired.loop_id,
                    window=window,
                    window_start=start,
                    estimate=episode.estimate,
                    bound=episode.bound,
                    baseline=baseline,
                    threshold=threshold,
                    labels=episode.labels,
                    most_confused=confusion([row.outcome for row in stretch], labels)[
                        "most_confused"
                    ],
                    opened_at=fired.completed_at,
                )
                try:
                    with transaction.atomic():
                        alert.save()
                except IntegrityError:
                    continue  # another evaluation recorded it first
                opened.append(alert)
                _announce(flow, alert)
            if cleared_at is not None and alert.status == AlertStatus.OPEN:
                moved = QualityAlert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
                    status=AlertStatus.CLEARED, cleared_at=cleared_at
                )
                if moved:
                    alert.status, alert.cleared_at = AlertStatus.CLEARED, cleared_at
                    _announce(flow, alert)
    return opened


def _announce(flow: Flow, alert: QualityAlert) -> None:
    """The signed ``model_quality.alert`` webhook (status open or cleared)."""
    flow_delivery_create(
        flow=flow,
        event=WebhookEvent.MODEL_QUALITY_ALERT,
        payload={"alert": alert_as_dict(alert)},
    )


def _baseline(flow: Flow, version: str, audited: list[AuditedLoop], now) -> ModelBaseline | None:
    return baseline_of(flow=flow, model_version=version) or baseline_from_first_window(
        flow=flow, model_version=version, audited=audited, now=now
    )


def monitoring_evaluate(*, flow: Flow, now: datetime | None = None) -> dict[str, Any]:
    """Evaluate every model version of the flow; open and clear alerts; raise or restore the
    audit share; ask for retraining when an alert opens or enough labels arrived."""
    now = now or timezone.now()
    config = monitor_config_of(flow=flow)
    h = threshold_for(config.false_alarm_labels)
    labels = list(flow.job.labels)
    opened: list[QualityAlert] = []
    versions = model_versions(flow=flow)
    for version in versions:
        audited = audited_loops(flow=flow, model_version=version)
        baseline = _baseline(flow, version, audited, now)
        if baseline is None:
            continue
        after = baseline_window_end(baseline)
        stream = [row for row in audited if after is None or row.outcome.predicted_at >= after]
        null = baseline.accuracy - config.tolerance
        detection = accuracy_detector(
            [row.outcome.correct for row in stream],
            null_accuracy=null,
            alternative_accuracy=null - config.design_drop,
            h=h,
        )
        opened += _sync(
            flow=flow,
            version=version,
            kind=AlertKind.ACCURACY,
            detection=detection,
            stream=stream,
            baseline=baseline.accuracy,
            threshold=null,
            labels=labels,
        )
        stated = [row for row in stream if row.outcome.confidence is not None]
        gaps = [row.outcome.confidence - row.outcome.correct for row in stated]
        detection = calibration_detector(
            gaps, tolerance=config.calibration_tolerance, design_gap=CALIBRATION_DESIGN_GAP, h=h
        )
        opened += _sync(
            flow=flow,
            version=version,
            kind=AlertKind.CALIBRATION,
            detection=detection,
            stream=stated,
            baseline=0.0,
            threshold=config.calibration_tolerance,
            labels=labels,
        )
    boosted = _audit_share(flow=flow)
    retrained = None
    if config.retrain_on_alert and any(a.kind == AlertKind.ACCURACY for a in opened):
        retrained = retrain_request(
            flow=flow, reason="alert", details={"alert": alert_as_dict(opened[0])}, now=now
        )
    elif config.retrain_after_labels:
        new = reviewed_since(flow=flow, since=config.retrained_at)
        if new >= config.retrain_after_labels:
            retrained = retrain_request(
                flow=flow, reason="labels", details={"new_labels": new}, now=now
            )
    MonitorConfig.objects.update_or_create(flow=flow, defaults={"evaluated_at": now})
    return {
        "versions": versions,
        "opened": [alert.pk for alert in opened],
        "open": QualityAlert.objects.filter(flow=flow, status=AlertStatus.OPEN).count(),
        "sample_percent": boosted,
        "retrain": retrained,
    }


def _audit_share(*, flow: Flow) -> float | None:
    """While an alert is open the flow audits ``boosted_sample_percent`` (more evidence
    when it matters); once none is open, its own share again. Returns the share now."""
    with transaction.atomic():
        config = MonitorConfig.objects.select_for_update().filter(flow=flow).first()
        current = Flow.objects.filter(pk=flow.pk).values_list("sample_percent", flat=True).first()
        if config is None or not config.boosted_sample_percent:
            return current
        any_open = QualityAlert.objects.filter(flow=flow, status=AlertStatus.OPEN).exists()
        if any_open and not config.sample_boosted:
            raised = max(config.boosted_sample_percent, current or 0)
            Flow.objects.filter(pk=flow.pk).update(sample_percent=raised)
            MonitorConfig.objects.filter(pk=config.pk).update(
                sample_boosted=True, saved_sample_percent=current, boosted_to=raised
            )
            flow.sample_percent = raised
            return raised
        if not any_open and config.sample_boosted:
            MonitorConfig.objects.filter(pk=config.pk).update(sample_boosted=False, boosted_to=None)
            if config.boosted_to is not None and current != config.boosted_to:
                # A manager set another share while it was raised: theirs stays.
                return current
            Flow.objects.filter(pk=flow.pk).update(sample_percent=config.saved_sample_percent)
            flow.sample_percent = config.saved_sample_percent
            return config.saved_sample_percent
        return current


def job_alerts_sync(*, job: Job, episodes: list[dict[str, Any]]) -> list[JobQualityAlert]:
    """Keep a job's stored alerts on its automated labels in step with the detector's
    episodes (``active_learning.selectors.auto_label_quality``): open the episodes not yet
    recorded, clear the recorded ones that cleared, each with a signed ``model_quality.alert``
    webhook (subject: the job) to the flows whose dataset job it is. Returns those opened."""
    opened = []
    for episode in episodes:
        with transaction.atomic():
            alert = JobQualityAlert.objects.filter(
                job=job, kind=AlertKind.AUTO_LABELS, fired_by_item_id=episode["fired_by_item"]
            ).first()
            if alert is None:
                alert = JobQualityAlert(
                    job=job,
                    kind=AlertKind.AUTO_LABELS,
                    fired_by_item_id=episode["fired_by_item"],
                    started_at=episode["started_at"],
                    estimate=episode["estimate"],
                    bound=episode["bound"],
                    baseline=episode["promised_accuracy"],
                    threshold=episode["threshold"],
                    labels=episode["labels"],
                    opened_at=episode["fired_at"],
                )
                try:
                    with transaction.atomic():
                        alert.save()
                except IntegrityError:
                    continue  # another evaluation recorded it first
                opened.append(alert)
                _announce_job(job, alert)
            cleared_at = episode["cleared_at"]
            if cleared_at is not None and alert.status == AlertStatus.OPEN:
                moved = JobQualityAlert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
                    status=AlertStatus.CLEARED, cleared_at=cleared_at
                )
                if moved:
                    alert.status, alert.cleared_at = AlertStatus.CLEARED, cleared_at
                    _announce_job(job, alert)
    return opened


def _announce_job(job: Job, alert: JobQualityAlert) -> None:
    payload = {"alert": job_alert_as_dict(alert)}
    for flow in Flow.objects.filter(dataset_job=job).exclude(webhook_url=""):
        flow_delivery_create(flow=flow, event=WebhookEvent.MODEL_QUALITY_ALERT, payload=payload)
