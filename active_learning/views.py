"""The automated-labeling page of a job in the manager console."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from active_learning import selectors
from active_learning.forms import AuditForm, AutoLabelingForm
from active_learning.services.audits import audit_start
from active_learning.services.settings import auto_labeling_disable, auto_labeling_enable
from active_learning.shapespace import SHAPE_TASK_TYPES, mean_iou_target
from active_learning.states import RoundTrigger
from active_learning.tasks import request_round
from labeling.errors import QuorumError
from labeling.models import Job
from labeling.selectors import job_get_for_user
from labeling.views import manager_page
from workflows.monitoring.selectors import job_alerts

CHART_WIDTH, CHART_HEIGHT = 600, 200


def _manager_job(request: HttpRequest, job_id: int) -> Job:
    job = job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job")
    return job


def _polyline(values: list[float | None]) -> str:
    """SVG points of a 0–1 series across the chart (missing values are skipped)."""
    count = len(values)
    step = CHART_WIDTH / (count - 1) if count > 1 else 0
    return " ".join(
        f"{index * step:.1f},{CHART_HEIGHT - value * CHART_HEIGHT:.1f}"
        for index, value in enumerate(values)
        if value is not None
    )


def _chart(job_id: int, target: float | None) -> dict:
    rows = selectors.chart_by_round(job_id=job_id)
    return {
        "rows": rows,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "accuracy": _polyline([row["validation_accuracy"] for row in rows]),
        "share_auto": _polyline([row["share_auto"] for row in rows]),
        "target_y": None if target is None else CHART_HEIGHT - target * CHART_HEIGHT,
    }


@require_GET
@manager_page
def job_auto_labeling(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    config = selectors.auto_labeling_for_job(job_id=job.pk)
    initial = (
        {
            "target_accuracy": config.target_accuracy,
            "human_budget": config.human_budget,
            "strategy": config.strategy,
            "validation_size": config.validation_size,
            "round_every": config.round_every,
            "preannotate": config.preannotate,
            "target_mean_iou": config.target_mean_iou,
        }
        if config
        else None
    )
    # Box and mask jobs (issue 19) are held to a mean IoU, classification to an accuracy.
    shapes = job.task_type in SHAPE_TASK_TYPES
    target = (
        mean_iou_target(job.task_type, config.target_mean_iou if config else None)
        if shapes
        else (config.target_accuracy if config else None)
    )
    context = {
        "job": job,
        "measure": "mean IoU" if shapes else "accuracy",
        "target": target,
        "config": config,
        "form": AutoLabelingForm(initial=initial),
        "audit_form": AuditForm(),
        "counts": selectors.label_sources(job_id=job.pk),
        "suggestions": selectors.suggestion_stats(job_id=job.pk),
        "budget": selectors.budget_status(config=config),
        "rounds": selectors.rounds_for_job(job_id=job.pk)[::-1],
        "models": selectors.models_for_job(job_id=job.pk),
        "audits": selectors.audits_for_job(job_id=job.pk),
        "chart": _chart(job.pk, target),
        "quality_alerts": job_alerts(job_id=job.pk, limit=20),
    }
    return render(request, "active_learning/job.html", context)


def _back(job_id: int) -> HttpResponse:
    return redirect("console-job-auto-labeling", job_id=job_id)


@require_POST
@manager_page
def job_auto_labeling_on(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    form = AutoLabelingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return _back(job.pk)
    try:
        auto_labeling_enable(job=job, by=request.user, **form.service_kwargs())
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Automated labeling is on.")
    return _back(job.pk)


@require_POST
@manager_page
def job_auto_labeling_off(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    try:
        auto_labeling_disable(job=job)
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Automated labeling is off; labels given so far stay.")
    return _back(job.pk)


@require_POST
@manager_page
def job_round_now(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    queued = request_round(job.pk, RoundTrigger.MANUAL)
    if queued is None:
        messages.info(request, "A round is already pending, or automated labeling is off.")
    else:
        messages.success(request, f"Round {queued.number} is queued for a worker.")
    return _back(job.pk)


@require_POST
@manager_page
def job_audit_start(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    form = AuditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "the sample size must be between 1 and 5000")
        return _back(job.pk)
    try:
        audit = audit_start(job=job, by=request.user, **form.cleaned_data)
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{audit.sample_size} auto-labeled items went back to the human queue."
        )
    return _back(job.pk)
