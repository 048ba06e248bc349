"""Reads of model-quality monitoring: audited outcomes, per-window figures, alerts.

Only the random audit sample (loops routed with reason "sample", whether or not a condition
also matched) enters the estimates: the loops sent by the confidence rule are the hard cases
and are reported beside them, never mixed in. Windows are by prediction time, so a late label
lands in the window of its prediction.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncDay, TruncHour, TruncWeek
from django.utils import timezone

from workflows.models import (
    Flow,
    HumanLoop,
    JobQualityAlert,
    ModelBaseline,
    MonitorConfig,
    Prediction,
    QualityAlert,
)
from workflows.monitoring.stats import (
    WINDOWS,
    Outcome,
    calibration,
    confusion,
    wilson,
    window_start,
    windows_of,
)
from workflows.states import AlertStatus, HumanLoopStatus

# How many windows of each size the figures show by default.
SHOWN_WINDOWS = {"hour": 48, "day": 30, "week": 26}
SAMPLE = "sample"
# How far a client's predicted_at may be after the routing call (see services/predictions.py).
CLOCK_SLACK = timedelta(minutes=5)
CONDITION = "condition"


@dataclass(frozen=True)
class AuditedLoop:
    loop_id: int
    outcome: Outcome
    completed_at: datetime


def monitor_config_of(*, flow: Flow) -> MonitorConfig:
    """The flow's monitoring settings (the defaults, unsaved, when none were set)."""
    return MonitorConfig.objects.filter(flow=flow).first() or MonitorConfig(flow=flow)


def model_versions(*, flow: Flow) -> list[str]:
    """The model versions the flow's loops name, newest first ("" for predictions without)."""
    rows = (
        HumanLoop.objects.filter(flow=flow)
        .values("model_version")
        .annotate(last=Coalesce("predicted_at", "created_at"))
        .order_by()
    )
    latest: dict[str, datetime] = {}
    for row in rows:
        version, moment = row["model_version"], row["last"]
        if version not in latest or moment > latest[version]:
            latest[version] = moment
    return sorted(latest, key=lambda version: latest[version], reverse=True)


def _audited(flow: Flow, model_version: str, reason: str = SAMPLE):
    loops = HumanLoop.objects.filter(
        flow=flow, model_version=model_version, status=HumanLoopStatus.COMPLETED
    ).exclude(model_label="")
    if reason == SAMPLE:
        return loops.filter(route_reason__contains=SAMPLE)
    return loops.filter(route_reason=CONDITION)


def audited_loops(
    *,
    flow: Flow,
    model_version: str,
    reason: str = SAMPLE,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditedLoop]:
    """Completed loops with a model label of one version, in the order their labels arrived.
    ``reason`` "sample": the random audit; "condition": the loops only the rule sent.
    ``since``/``until`` bound the prediction time."""
    loops = _audited(flow, model_version, reason)
    loops = loops.annotate(at=Coalesce("predicted_at", "created_at"))
    if since is not None:
        # A prediction's time is at most a few minutes after its loop's creation: the
        # creation-time index prunes first.
        loops = loops.filter(created_at__gte=since - CLOCK_SLACK, at__gte=since)
    if until is not None:
        loops = loops.filter(at__lt=until)
    rows = loops.order_by("completed_at", "pk").values_list(
        "pk", "at", "model_label", "human_label", "model_confidence", "completed_at"
    )
    return [
        AuditedLoop(pk, Outcome(at, predicted, human, confidence), completed)
        for pk, at, predicted, human, confidence, completed in rows.iterator(chunk_size=5000)
    ]


def routed_share(
    *, flow: Flow, model_version: str, window: str, since: datetime
) -> list[dict[str, Any]]:
    """Per window of prediction time: predictions, those sent to people, by which reason
    (counted in the database, grouped by window)."""
    truncate = {"hour": TruncHour, "day": TruncDay, "week": TruncWeek}[window]
    rows = (
        Prediction.objects.filter(
            flow=flow, model_version=model_version, created_at__gte=since - CLOCK_SLACK
        )
        .annotate(at=Coalesce("predicted_at", "created_at"))
        .filter(at__gte=since)
        .annotate(start=truncate("at", tzinfo=UTC))
        .values("start", "decision", "reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    buckets: dict[datetime, dict[str, int]] = {}
    for row in rows:
        bucket = buckets.setdefault(
            row["start"], {"predictions": 0, "reviewed": 0, "sample": 0, "rule": 0}
        )
        bucket["predictions"] += row["n"]
        if row["decision"] == "review":
            bucket["reviewed"] += row["n"]
            bucket["sample" if SAMPLE in row["reason"] else "rule"] += row["n"]
    return [
        {
            "start": _iso(start),
            **counts,
            "share_to_people": counts["reviewed"] / counts["predictions"],
        }
        for start, counts in sorted(buckets.items())
    ]


def baseline_of(*, flow: Flow, model_version: str) -> ModelBaseline | None:
    return ModelBaseline.objects.filter(flow=flow, model_version=model_version).first()


def alerts_of(*, flow: Flow, limit: int = 100) -> list[QualityAlert]:
    return list(QualityAlert.objects.filter(flow=flow).order_by("-opened_at", "-pk")[:limit])


def open_alerts(*, flow: Flow) -> list[dict[str, Any]]:
    """The flow's open alerts, for its page's banner."""
    alerts = QualityAlert.objects.filter(flow=flow, status=AlertStatus.OPEN).order_by("-pk")
    return [alert_as_dict(alert) for alert in alerts[:20]]


def open_alerts_by_flow(*, flow_ids: list[int]) -> dict[int, int]:
    """How many alerts are open per flow, for the console's flows list."""
    rows = (
        QualityAlert.objects.filter(flow_id__in=flow_ids, status=AlertStatus.OPEN)
        .values("flow_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["flow_id"]: row["n"] for row in rows}


def job_alert_as_dict(alert: JobQualityAlert) -> dict[str, Any]:
    """A stored alert on a job's automated labels (subject: the job)."""
    return {
        "id": alert.pk,
        "subject": {"job": alert.job_id},
        "kind": alert.kind,
        "status": alert.status,
        "started_at": _iso(alert.started_at),
        "estimate": alert.estimate,
        "bound": alert.bound,
        "baseline": alert.baseline,
        "threshold": alert.threshold,
        "labels": alert.labels,
        "opened_at": _iso(alert.opened_at),
        "cleared_at": _iso(alert.cleared_at) if alert.cleared_at else None,
    }


def job_alerts(*, job_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A job's stored alerts on its automated labels, newest first."""
    alerts = JobQualityAlert.objects.filter(job_id=job_id).order_by("-opened_at", "-pk")
    return [job_alert_as_dict(alert) for alert in alerts[:limit]]


def open_job_alerts_by_flow(*, flow_ids: list[int]) -> dict[int, int]:
    """How many alerts are open on the automated labels of each flow's dataset job."""
    rows = (
        Flow.objects.filter(pk__in=flow_ids, dataset_job__quality_alerts__status=AlertStatus.OPEN)
        .values("pk")
        .annotate(n=Count("dataset_job__quality_alerts"))
        .order_by()
    )
    return {row["pk"]: row["n"] for row in rows}


def alert_as_dict(alert: QualityAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "model_version": alert.model_version,
        "kind": alert.kind,
        "status": alert.status,
        "window": alert.window,
        "window_start": _iso(alert.window_start),
        "estimate": alert.estimate,
        "bound": alert.bound,
        "baseline": alert.baseline,
        "threshold": alert.threshold,
        "labels": alert.labels,
        "most_confused": alert.most_confused,
        "opened_at": _iso(alert.opened_at),
        "cleared_at": _iso(alert.cleared_at) if alert.cleared_at else None,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def quality_figures(
    *, flow: Flow, model_version: str | None = None, window: str = "hour", count: int = 0
) -> dict[str, Any]:
    """Everything the monitoring page and its API show for one model version (the newest
    by default): windows with intervals, baseline band, routed share, confusion, calibration,
    the rule-chosen loops beside, and the alerts."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}")
    versions = model_versions(flow=flow)
    version = model_version if model_version is not None else (versions[0] if versions else "")
    shown = count or SHOWN_WINDOWS[window]
    since = window_start(timezone.now(), window) - WINDOWS[window] * (shown - 1)
    recent = [row.outcome for row in audited_loops(flow=flow, model_version=version, since=since)]
    overall = _audited(flow, version).aggregate(
        labels=Count("pk"), correct=Count("pk", filter=Q(agrees=True))
    )
    rule = [
        row.outcome
        for row in audited_loops(flow=flow, model_version=version, reason=CONDITION, since=since)
    ]
    config = monitor_config_of(flow=flow)
    baseline = baseline_of(flow=flow, model_version=version)
    labels = list(flow.job.labels)
    rule_windows = {w.start: w for w in windows_of(rule, window)}
    rows = []
    for estimate in windows_of(recent, window):
        row = estimate.as_dict()
        beside = rule_windows.get(estimate.start)
        row["rule_labels"] = beside.labels if beside else 0
        row["rule_accuracy"] = beside.accuracy if beside else None
        rows.append(row)
    return {
        "flow": flow.pk,
        "model_version": version,
        "model_versions": versions,
        "window": window,
        "since": _iso(since),
        "baseline": None
        if baseline is None
        else {
            "accuracy": baseline.accuracy,
            "source": baseline.source,
            "metrics": baseline.metrics,
            "tolerance": config.tolerance,
            "alert_below": baseline.accuracy - config.tolerance,
        },
        "overall": {
            "labels": overall["labels"],
            "accuracy": overall["correct"] / overall["labels"] if overall["labels"] else None,
        },
        "windows": rows,
        "routed": routed_share(flow=flow, model_version=version, window=window, since=since),
        "confusion": confusion(recent, labels),
        "calibration": calibration(recent),
        "rule_loops": {
            "labels": len(rule),
            "accuracy": sum(o.correct for o in rule) / len(rule) if rule else None,
            "note": "loops sent by the confidence rule: hard cases, never in the estimates",
        },
        "alerts": [
            alert_as_dict(alert) for alert in alerts_of(flow=flow) if alert.model_version == version
        ],
        "versions": versions_compared(flow=flow, versions=versions[:10], since=since),
    }


def versions_compared(*, flow: Flow, versions: list[str], since: datetime) -> list[dict[str, Any]]:
    """Each version's audited accuracy since a time, with its interval and baseline: two
    versions running side by side (a canary) read against each other."""
    rows = []
    for version in versions:
        outcomes = [
            row.outcome for row in audited_loops(flow=flow, model_version=version, since=since)
        ]
        correct = sum(outcome.correct for outcome in outcomes)
        low, high = wilson(correct, len(outcomes))
        baseline = baseline_of(flow=flow, model_version=version)
        rows.append(
            {
                "model_version": version,
                "labels": len(outcomes),
                "accuracy": correct / len(outcomes) if outcomes else None,
                "low": low if outcomes else None,
                "high": high if outcomes else None,
                "baseline": baseline.accuracy if baseline else None,
            }
        )
    return rows


def reviewed_since(*, flow: Flow, since: datetime | None) -> int:
    """Completed loops (reviewed labels) since a time, for the retraining trigger."""
    loops = HumanLoop.objects.filter(flow=flow, status=HumanLoopStatus.COMPLETED)
    if since is not None:
        loops = loops.filter(completed_at__gt=since)
    return loops.count()


def flows_to_evaluate() -> list[int]:
    """Flows with a loop completed since their last evaluation (or never evaluated)."""
    latest = timezone.now() - timedelta(days=3650)
    ids = []
    for flow_id, evaluated_at in Flow.objects.values_list("pk", "monitor__evaluated_at"):
        done = HumanLoop.objects.filter(
            flow_id=flow_id,
            status=HumanLoopStatus.COMPLETED,
            completed_at__gt=evaluated_at or latest,
        )
        if done.exists():
            ids.append(flow_id)
    return ids
