"""The console's quality pages: agreement dashboard, worker reliability, review acceptance."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.errors import QuorumError
from labeling.models import ConsolidationMethod, GoldPurpose, User
from labeling.quality import selectors
from labeling.quality.math.shape_reliability import reliability_weights
from labeling.quality.services.gold import gold_items_add, worker_resume
from labeling.quality.services.gold_shapes import GOLD_PASS_DEFAULT, scored_by_similarity
from labeling.quality.services.reliability import (
    job_quality_configure,
    quality_request_reestimate,
)
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class
from labeling.views import _manager_job, manager_page

CHART_WIDTH = 320  # pixels of a full bar (a share of 1)


def _bar(label: str, value: float | None, *, signed: bool = False) -> dict:
    """One bar of a server-drawn SVG chart: width from a share in [0, 1] (or [-1, 1])."""
    if value is None:
        return {"label": label, "text": "–", "width": 0, "negative": False}
    shown = abs(value) if signed else max(value, 0.0)
    return {
        "label": label,
        "text": f"{value:.3f}",
        "width": round(min(shown, 1.0) * CHART_WIDTH),
        "negative": value < 0,
    }


def _chart(bars: list[dict]) -> dict:
    row = 26
    for index, bar in enumerate(bars):
        bar["y"] = index * row
        bar["text_y"] = index * row + 15
    return {"bars": bars, "height": max(len(bars) * row, row), "width": CHART_WIDTH}


@require_GET
@manager_page
def job_quality_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    task_type = get_task_type(job.task_type)
    estimate = selectors.job_quality_estimate(job=job)
    workers = selectors.job_worker_quality(job=job)
    acceptance = selectors.job_worker_review_acceptance(job=job)
    for row in workers:  # issue 14: the share of their reviewed items a reviewer accepted
        row["review"] = acceptance.get(row["worker_id"])
        if row["shape_reliability"] is not None:  # issue 19: the weight of their answers
            row["shape_weight"] = float(reliability_weights([row["shape_reliability"]])[0])
    agreement_chart = _chart(
        [
            _bar("Krippendorff's alpha", estimate.alpha if estimate else None, signed=True),
            _bar("Fleiss' kappa", estimate.kappa if estimate else None, signed=True),
        ]
    )
    label_chart = _chart(
        [_bar(label, (estimate.per_label or {}).get(label) if estimate else None)
         for label in job.labels]
    )  # fmt: skip
    worker_chart = _chart(
        [_bar(row["username"], row["estimated_accuracy"]) for row in workers[:40]]
    )
    worker_agreement_chart = _chart(
        [_bar(row["username"], row["agreement"]) for row in workers[:40]]
    )
    shape = selectors.job_shape_agreement(job=job)  # drawing and span jobs (issue 19)
    shape_charts = {}
    if shape is not None:
        shape_charts = {
            "agreement": _chart([_bar("Krippendorff's alpha", shape["alpha"], signed=True)]),
            "histogram": _chart(
                [
                    _bar(f"{index / 10:.1f}–{(index + 1) / 10:.1f}", count / max(shape["pairs"], 1))
                    for index, count in enumerate(shape["histogram"])
                ]
            ),
            "workers": _chart(
                [_bar(row["username"], row["mean_similarity"]) for row in shape["workers"][:40]]
            ),
        }
    context = {
        "job": job,
        "shape": shape,
        "shape_charts": shape_charts,
        "scored_gold": scored_by_similarity(task_type),
        "gold_pass_default": GOLD_PASS_DEFAULT,
        "estimate": estimate,
        "workers": workers,
        "agreement_chart": agreement_chart,
        "label_chart": label_chart,
        "worker_chart": worker_chart,
        "worker_agreement_chart": worker_agreement_chart,
        "saved": selectors.job_answers_saved(job=job),
        # Drawing and span jobs list their least agreed items by similarity instead (their
        # confidence is the share of workers who drew a shape, 1.0 wherever all drew it).
        "hot_spots": [] if shape else selectors.job_hot_spots(job=job, limit=10),
        "gold_items": selectors.job_gold_count(job=job),
        "methods": ConsolidationMethod.choices,
        # Gold items carry one class: their form only where the task type's answer is one.
        "class_answer": answers_one_class(task_type),
        "task_type": task_type,
        "shape_quality": selectors.job_shape_quality(job=job),  # issue 19
    }
    return render(request, "console/job_quality.html", context)


def _number(text: str, cast=float):
    text = (text or "").strip()
    return cast(text) if text else None


@require_POST
@manager_page
def job_quality_settings_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    form = request.POST
    try:
        job_quality_configure(
            job=job,
            consolidation_method=form.get("consolidation_method", job.consolidation_method),
            gold_rate=_number(form.get("gold_rate")) or 0.0,
            gold_min_answers=_number(form.get("gold_min_answers"), int) or job.gold_min_answers,
            gold_pause_below=_number(form.get("gold_pause_below")),
            exclude_paused_answers=form.get("exclude_paused_answers") == "on",
            min_workers_per_item=_number(form.get("min_workers_per_item"), int),
            target_confidence=_number(form.get("target_confidence")),
            gold_pass_similarity=_number(form.get("gold_pass_similarity")),
        )
    except ValueError:
        messages.error(request, "The settings were not saved: enter numbers.")
    except QuorumError as exc:
        messages.error(request, f"The settings were not saved: {exc.message}.")
    else:
        messages.success(request, "Quality settings saved.")
    return redirect("console-job-quality", job_id=job_id)


@require_POST
@manager_page
def job_gold_import_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """Gold items pasted as JSON Lines: ``{"data": {...}, "label": "..."}`` per line."""
    job = _manager_job(request, job_id)
    entries = []
    for number, line in enumerate(request.POST.get("lines", "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            messages.error(request, f"No gold items were added: line {number} is not JSON.")
            return redirect("console-job-quality", job_id=job_id)
    try:
        golds = gold_items_add(
            job=job, entries=entries, purpose=request.POST.get("purpose", GoldPurpose.QUEUE)
        )
    except QuorumError as exc:
        messages.error(request, f"No gold items were added: {exc.message}.")
    else:
        messages.success(request, f"{len(golds)} gold item{'s' * (len(golds) != 1)} added.")
    return redirect("console-job-quality", job_id=job_id)


@require_POST
@manager_page
def job_reestimate_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    quality_request_reestimate(job_id=job.pk)
    messages.success(request, "Re-estimation queued; the figures update when it finishes.")
    return redirect("console-job-quality", job_id=job_id)


@require_POST
@manager_page
def worker_resume_view(request: HttpRequest, job_id: int, worker_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    worker = User.objects.filter(pk=worker_id).first()
    if worker is not None:
        worker_resume(job=job, worker=worker)
        messages.success(request, f"{worker.username} may work on this job again.")
    return redirect("console-job-quality", job_id=job_id)
