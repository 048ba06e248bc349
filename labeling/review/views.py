"""Pages of issue 14: the item page (console), the review console and workspace, a task UI
in its read-back mode, "my answers" and the revise page (portal)."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from labeling import selectors as core_selectors
from labeling.errors import QuorumError
from labeling.models import Annotation, Assignment, ReviewMode
from labeling.review import selectors
from labeling.review.answers import element_initial, label_start, mask_overlay
from labeling.review.services.comments import item_comment_add, mentions_mark_read
from labeling.review.services.reviews import job_may_review, job_review_configure, team_reviewer_set
from labeling.services.revisions import annotation_revise_refusal, item_reopen, job_reopen
from labeling.task_types import get_task_type
from labeling.task_ui.rendering import TaskRenderError, render_task, task_context
from labeling.views import _manager_job, labeler_page, manager_page, signed_in


def _neighbour_query(request: HttpRequest) -> str:
    kept = {k: v for k, v in request.GET.items() if k in selectors.NEIGHBOUR_FILTERS and v}
    return "&".join(f"{k}={v}" for k, v in kept.items())


# --- The item page (managers) ----------------------------------------------------------------


@require_GET
@manager_page
def item_page(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    item = selectors.item_for_job(job=job, item_id=item_id)
    if item is None:
        raise Http404("no such item in this job")
    task_type = get_task_type(job.task_type)
    answers = selectors.item_answers(item=item)
    consolidated = selectors.item_consolidated(item=item)
    line = json.loads(item.data)
    neighbours = selectors.item_neighbours(job=job, item_id=item.pk, filters=request.GET)
    query = _neighbour_query(request)
    base = reverse("console-item", args=[job.pk, 0]).rsplit("0", 1)[0]
    suffix = f"?{query}" if query else ""
    viewer = {
        "media_url": f"/api/v1/items/{item.pk}/media" if task_type.media == "image" else None,
        "frames_url": f"/api/v1/items/{item.pk}/frames/" if task_type.media == "video" else None,
        "frame_count": len(line.get("frames") or []) if task_type.media == "video" else 0,
        "text": line.get("source") if isinstance(line.get("source"), str) else None,
        "answers": [
            {
                "worker": a["username"],
                "colour": a["colour"],
                "answer": a["answer"],
                "mask": _mask_of_answer(a["answer"], a["colour"]),
            }
            for a in answers
        ],
        "consolidated": consolidated.value if consolidated else None,
        "consolidated_mask": _mask_of_value(consolidated.value if consolidated else None),
        "previous": f"{base}{neighbours['previous']}{suffix}" if neighbours["previous"] else "",
        "next": f"{base}{neighbours['next']}{suffix}" if neighbours["next"] else "",
    }
    # The model's suggestion, as the task UI's extensions give it (pre-annotation).
    task = task_context(Assignment(job=job, item=item, worker=request.user))["task"]
    context = {
        "job": job,
        "item": item,
        "suggestion": task.get("suggestion"),
        "task_type": task_type,
        "line": json.dumps(line, ensure_ascii=False, indent=1)[:5000],
        "answers": answers,
        "votes": selectors.item_votes(job=job, answers=answers),
        "consolidated": consolidated,
        "gold_label": selectors.item_gold_label(item=item),
        "history": selectors.item_history(item=item),
        "comments": selectors.item_comments(item=item),
        "regions": _regions(consolidated.value if consolidated else None),
        "viewer": viewer,
        "neighbours": neighbours,
        "query": query,
        "editor": _label_view(job, item, consolidated),
    }
    return render(request, "console/item.html", context)


def _mask_of_answer(answer, colour: str) -> str | None:
    """A worker's label map (semantic segmentation) as an overlay in their colour."""
    inner = next(iter(answer.values()), None) if isinstance(answer, dict) else None
    image = inner.get("labeledImage") if isinstance(inner, dict) else None
    if isinstance(image, dict) and isinstance(image.get("ref"), str):
        return mask_overlay(image["ref"], colour)
    return None


def _mask_of_value(value) -> str | None:
    """The consolidated label map as an overlay (dark, like the consolidated layer)."""
    if isinstance(value, dict) and isinstance(value.get("index_ref"), str):
        return mask_overlay(value["index_ref"], "#111111")
    return None


def _label_view(job, item, consolidated) -> dict | None:
    """The consolidated label in the task type's own element, read-only (when it can start
    from the label)."""
    start = label_start(job=job, value=consolidated.value) if consolidated else None
    if start is None:
        return None
    return {
        "ui_url": reverse("work-item-ui", args=[job.pk, item.pk]),
        "start": start,
        "has_start": True,
        "submit_url": "",
        "next_url": "",
        "mode": "view",
    }


def _regions(value) -> list[dict]:
    """The consolidated label's regions a comment can point at: shapes and spans."""
    if not isinstance(value, dict):
        return []
    regions = []
    for key, kind in (("boxes", "box"), ("polygons", "polygon"), ("polylines", "polyline"),
                      ("lines", "line"), ("keypoints", "keypoint")):  # fmt: skip
        for index, shape in enumerate(value.get(key) or []):
            regions.append({"kind": kind, "index": index, "label": shape.get("label", "")})
    for index, span in enumerate(value.get("entities") or []):
        regions.append({"kind": "span", "index": index, "label": span.get("label", "")})
    return regions


@require_POST
@manager_page
def item_comment_view(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    region = None
    if request.POST.get("region"):
        try:
            region = json.loads(request.POST["region"])
        except ValueError:
            region = "bad"
    try:
        item_comment_add(
            job=job, item_id=item_id, author=request.user, body=request.POST.get("body", ""),
            region=region,
        )  # fmt: skip
    except QuorumError as exc:
        messages.error(request, f"The comment was not added: {exc.message}.")
    else:
        messages.success(request, "Comment added.")
    return redirect(reverse("console-item", args=[job.pk, item_id]) + "#comments")


@require_POST
@manager_page
def item_reopen_view(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    try:
        item_reopen(job=job, item_id=item_id, by=request.user,
                    more=int(request.POST.get("more", 1) or 1),
                    reason=request.POST.get("reason", ""))  # fmt: skip
    except (QuorumError, ValueError) as exc:
        messages.error(request, f"The item was not reopened: {getattr(exc, 'message', exc)}.")
    else:
        messages.success(request, "The item is open for more answers.")
    return redirect("console-item", job_id=job.pk, item_id=item_id)


@require_POST
@manager_page
def job_reopen_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    try:
        job_reopen(job=job, by=request.user, more=int(request.POST.get("more", 0) or 0))
    except (QuorumError, ValueError) as exc:
        messages.error(request, f"The job was not reopened: {getattr(exc, 'message', exc)}.")
    else:
        messages.success(request, "The job is in progress again.")
    return redirect("console-job", job_id=job.pk)


# --- Review console (managers) ---------------------------------------------------------------


@require_GET
@manager_page
def job_review_console(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    context = {
        "job": job,
        "modes": ReviewMode.choices,
        "queue": selectors.job_review_queue(job=job),
        "counts": selectors.job_review_counts(job=job),
        "members": selectors.job_team_members(job=job),
    }
    return render(request, "console/job_review.html", context)


@require_POST
@manager_page
def job_review_settings_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    form = request.POST
    try:
        window = form.get("revise_window_seconds", "").strip()
        job_review_configure(
            job=job,
            mode=form.get("mode", ReviewMode.NONE),
            share=float(form["share"]) if form.get("share") else None,
            below=float(form["below"]) if form.get("below") else None,
            revise_window_seconds=int(window) if window else None,
        )
        for member in selectors.job_team_members(job=job):
            wanted = f"reviewer-{member['user_id']}" in form
            if wanted != member["reviewer"]:
                team_reviewer_set(job=job, user_id=member["user_id"], reviewer=wanted)
    except ValueError:
        messages.error(request, "The review settings were not saved: enter numbers.")
    except QuorumError as exc:
        messages.error(request, f"The review settings were not saved: {exc.message}.")
    else:
        messages.success(request, "Review settings saved.")
    return redirect("console-job-review", job_id=job.pk)


# --- Review workspace (reviewers and managers) -----------------------------------------------


def _reviewable_job(request: HttpRequest, job_id: int):
    job = core_selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job")
    if not job_may_review(job=job, user=request.user):
        raise PermissionDenied("you are not a reviewer of this job")
    return job


@require_GET
@signed_in
def review_workspace(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _reviewable_job(request, job_id)
    try:
        item_id = int(request.GET.get("item") or 0) or selectors.job_review_next(job=job)
    except ValueError:
        item_id = selectors.job_review_next(job=job)
    item = selectors.item_for_job(job=job, item_id=item_id) if item_id else None
    consolidated = selectors.item_consolidated(item=item) if item else None
    start = label_start(job=job, value=consolidated.value) if consolidated else None
    context = {
        "job": job,
        "item": item,
        "consolidated": consolidated,
        "counts": selectors.job_review_counts(job=job),
        "editor": {
            "ui_url": reverse("work-item-ui", args=[job.pk, item.pk]) if item else "",
            "start": start or {},
            "has_start": start is not None,
            "submit_url": f"/api/v1/jobs/{job.pk}/items/{item.pk}/review" if item else "",
            "next_url": reverse("work-review", args=[job.pk]),
            "mode": "review",
        },
    }
    return render(request, "work/review.html", context)


@require_GET
@signed_in
def item_task_ui(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    """The task UI of an item without a lease (its form only previews): what a reviewer fixes
    and a labeler revises with. Reviewers and managers, or a labeler who answered the item."""
    job = core_selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job")
    item = selectors.item_for_job(job=job, item_id=item_id)
    if item is None:
        raise Http404("no such item")
    answered = Annotation.objects.filter(item_id=item.pk, worker_id=request.user.pk).exists()
    if not answered and not job_may_review(job=job, user=request.user):
        raise Http404("no such item of yours")
    try:
        html = render_task(Assignment(job=job, item=item, worker=request.user))
    except TaskRenderError as exc:
        return HttpResponse(str(exc), status=500, content_type="text/plain; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


# --- My answers (labelers) -------------------------------------------------------------------


@require_GET
@labeler_page
def my_answers(request: HttpRequest, job_id: int) -> HttpResponse:
    job = core_selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job on your teams")
    rows = selectors.worker_answers(job=job, worker=request.user)
    for row in rows:
        row["refusal"] = annotation_revise_refusal(annotation=row["annotation"], job=job)
    return render(request, "work/answers.html", {"job": job, "rows": rows})


@require_GET
@labeler_page
def answer_revise_page(request: HttpRequest, job_id: int, annotation_id: int) -> HttpResponse:
    job = core_selectors.job_get_for_user(job_id=job_id, user=request.user)
    annotation = (
        Annotation.objects.filter(pk=annotation_id, job_id=job_id, worker_id=request.user.pk)
        .select_related("item")
        .first()
    )
    if job is None or annotation is None:
        raise Http404("no such answer of yours")
    context = {
        "job": job,
        "annotation": annotation,
        "refusal": annotation_revise_refusal(annotation=annotation, job=job),
        "comments": selectors.item_comments(item=annotation.item),
        "editor": {
            "ui_url": reverse("work-item-ui", args=[job.pk, annotation.item_id]),
            "start": element_initial(annotation.answer, labels=list(job.labels)),
            "has_start": True,
            "submit_url": f"/api/v1/annotations/{annotation.pk}/revise",
            "next_url": reverse("work-my-answers", args=[job.pk]),
            "mode": "revise",
        },
    }
    return render(request, "work/revise.html", context)


# --- @mentions (every signed-in user) --------------------------------------------------------


@require_GET
@signed_in
def mentions_page(request: HttpRequest) -> HttpResponse:
    rows = selectors.user_mentions(user=request.user)
    for row in rows:  # managers open the item page; labelers their answers with its comments
        row["url"] = (
            reverse("console-item", args=[row["job"].pk, row["item_id"]])
            if request.user.is_manager
            else reverse("work-my-answers", args=[row["job"].pk])
        )
    return render(request, "work/mentions.html", {"rows": rows})


@require_POST
@signed_in
def mentions_read(request: HttpRequest) -> HttpResponse:
    mentions_mark_read(user=request.user)
    return redirect("mentions")
