"""Review of consolidated labels, for every task type (issue 14): accept, fix, reject.

A reviewer is a manager or a member of the job's team with the reviewer role. A fix is an
answer of the task type, checked exactly as a worker's is (``manager_answer_parse``); the
label stored is what the task type's consolidation makes of it. Every outcome goes to the
item's history with who, when, before and after.
"""

from django.db import transaction
from django.utils import timezone

from labeling.after_commit import run_safely
from labeling.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from labeling.events import label_revised, publish_on_commit
from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    Item,
    Job,
    ReviewMode,
    ReviewStatus,
    TeamMembership,
    TeamRole,
    User,
)
from labeling.review.answers import answer_of_value, same_video_boxes
from labeling.services.item_events import item_event_record, label_snapshot
from labeling.services.jobs import job_complete_if_done
from labeling.services.label_classes import consolidated_classes_write
from labeling.services.manager_labels import manager_answer_canonical, manager_answer_parse
from labeling.services.revisions import item_unlabel, job_reopen
from labeling.states import JobStatus
from labeling.task_types.image_segmentation import load_label_map

REJECT_MORE = "more"
REJECT_REWORK = "rework"
REASON_MAX = 500
REVIEW_METHOD = "review"


def job_may_review(*, job: Job, user: User) -> bool:
    if user.is_manager:
        return True
    return TeamMembership.objects.filter(
        team_id=job.team_id, user_id=user.pk, role=TeamRole.REVIEWER
    ).exists()


def _check_reviewer(job: Job, user: User) -> None:
    if not job_may_review(job=job, user=user):
        raise NotAllowed("only the job's reviewers and managers review its items")


def _locked_label(job: Job, item_id: int) -> tuple[Item, ConsolidatedLabel]:
    item = Item.objects.select_for_update().filter(pk=item_id, job_id=job.pk).first()
    if item is None:
        raise NotFound(f"there is no item {item_id} in this job")
    consolidated = ConsolidatedLabel.objects.filter(item_id=item.pk).first()
    if consolidated is None:
        raise Conflict("this item has no label to review yet", code="not_labeled")
    return item, consolidated


def _outcome(job, item, consolidated, reviewer, status, kind, before, **data):
    now = timezone.now()
    consolidated.review_status = status
    consolidated.reviewed_by = reviewer
    consolidated.reviewed_at = now
    item_event_record(
        job_id=job.pk,
        item_id=item.pk,
        kind=kind,
        actor=reviewer,
        at=now,
        data={"before": before, "after": label_snapshot(consolidated), **data},
    )


def review_accept(*, job: Job, item_id: int, reviewer: User) -> ConsolidatedLabel:
    """The reviewer keeps the label as it is."""
    _check_reviewer(job, reviewer)
    with transaction.atomic():
        item, consolidated = _locked_label(job, item_id)
        before = label_snapshot(consolidated)
        _outcome(
            job, item, consolidated, reviewer, ReviewStatus.ACCEPTED, "review_accepted", before
        )
        consolidated.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
    _complete_when_reviewed(job)
    return consolidated


def _complete_when_reviewed(job: Job) -> None:
    """The last review of a fully labeled job completes it (a waiting review holds it)."""
    run_safely(lambda: job_complete_if_done(job_id=job.pk), what=f"completing job {job.pk}")


def review_fix(*, job: Job, item_id: int, reviewer: User, answer: object) -> ConsolidatedLabel:
    """The reviewer's own answer becomes the label (refused, naming why, when the task type
    refuses it); the same answer as the label shown is an accept."""
    _check_reviewer(job, reviewer)
    with transaction.atomic():
        item, consolidated = _locked_label(job, item_id)
        fixed = manager_answer_parse(job=job, answer=answer, item_data=item.data)
        before = label_snapshot(consolidated)
        if _same_as_shown(job, item, consolidated.value, fixed.value, answer):
            _outcome(
                job, item, consolidated, reviewer, ReviewStatus.ACCEPTED, "review_accepted", before
            )
            consolidated.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
        else:
            consolidated.value = fixed.value
            consolidated.label = fixed.label
            consolidated.confidence = 1.0
            consolidated.method = REVIEW_METHOD
            consolidated.human_annotated = True
            _outcome(job, item, consolidated, reviewer, ReviewStatus.FIXED, "review_fixed", before)
            consolidated.save(
                update_fields=[
                    "value", "label", "confidence", "method", "human_annotated",
                    "review_status", "reviewed_by", "reviewed_at",
                ]
            )  # fmt: skip
            consolidated_classes_write(task_type=job.task_type, consolidated=[consolidated])
            publish_on_commit(
                label_revised,
                job_id=job.pk,
                item_id=item.pk,
                label=consolidated.label,
                confidence=consolidated.confidence,
            )
    _complete_when_reviewed(job)
    return consolidated


def _same_as_shown(job: Job, item: Item, shown_value, fixed_value, answer) -> bool:
    """Whether the reviewer sent back the label they were shown (an accept): the same mask
    pixels, the same video boxes to a pixel (the element rounds them), else the same parsed
    answer."""
    if isinstance(shown_value, dict) and isinstance(fixed_value, dict):
        if "index_ref" in shown_value and "index_ref" in fixed_value:
            shown_map = load_label_map(shown_value["index_ref"])
            fixed_map = load_label_map(fixed_value["index_ref"])
            return shown_map.shape == fixed_map.shape and bool((shown_map == fixed_map).all())
        if "frame_count" in shown_value and "frame_count" in fixed_value:
            return same_video_boxes(shown_value, fixed_value)
    shown = answer_of_value(job=job, value=shown_value)
    return shown is not None and manager_answer_canonical(
        job=job, answer=shown, item_data=item.data
    ) == manager_answer_canonical(job=job, answer=answer, item_data=item.data)


def review_reject(
    *, job: Job, item_id: int, reviewer: User, reason: str, send_to: str = REJECT_MORE
) -> Item:
    """The label is wrong: the item goes back for one more answer (``more``), or back to the
    workers who answered it (``rework``), who see the reason under "my answers" and revise."""
    _check_reviewer(job, reviewer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why the label is rejected", details={"field": "reason"})
    if send_to not in (REJECT_MORE, REJECT_REWORK):
        raise ValidationFailed(
            f"send_to is {REJECT_MORE!r} or {REJECT_REWORK!r}", details={"field": "send_to"}
        )
    if job.status not in (JobStatus.IN_PROGRESS, JobStatus.COMPLETED):
        raise Conflict("only a job in progress or completed takes items back", code="job_closed")
    with transaction.atomic():
        item, consolidated = _locked_label(job, item_id)
        if send_to == REJECT_MORE:
            item_unlabel(job=job, item=item, by=reviewer, kind="review_rejected", more=1,
                         data={"reason": reason[:REASON_MAX], "send_to": send_to})  # fmt: skip
        else:
            Annotation.objects.filter(item_id=item.pk).update(rework_reason=reason[:REASON_MAX])
            item_unlabel(job=job, item=item, by=reviewer, kind="review_rejected", more=0,
                         data={"reason": reason[:REASON_MAX], "send_to": send_to})  # fmt: skip
    if job.status == JobStatus.COMPLETED:  # the item needs the job open to come back
        job_reopen(job=job, by=reviewer)
    item.refresh_from_db()
    return item


def job_review_configure(
    *,
    job: Job,
    mode: str,
    share: float | None = None,
    below: float | None = None,
    revise_window_seconds: int | None = None,
) -> Job:
    """A job's review stage (none, a random share, every item, below a confidence) and how
    long its labelers may revise an answer (None: until the item is consolidated)."""
    if mode not in ReviewMode.values:
        raise ValidationFailed(
            f"review_mode is one of {', '.join(ReviewMode.values)}", details={"field": "mode"}
        )
    for name, value in (("share", share), ("below", below)):
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ValidationFailed(f"{name} must be between 0 and 1", details={"field": name})
    if revise_window_seconds is not None and not 0 <= revise_window_seconds <= 30 * 86400:
        raise ValidationFailed(
            "revise_window_seconds must be 0..2592000", details={"field": "revise_window_seconds"}
        )
    job.review_mode = mode
    if share is not None:
        job.review_share = float(share)
    if below is not None:
        job.review_below_confidence = float(below)
    job.revise_window_seconds = revise_window_seconds or None
    job.save(
        update_fields=[
            "review_mode", "review_share", "review_below_confidence", "revise_window_seconds"
        ]
    )  # fmt: skip
    return job


def team_reviewer_set(*, job: Job, user_id: int, reviewer: bool) -> TeamMembership:
    """Give or take the reviewer role of a member of the job's team."""
    membership = TeamMembership.objects.filter(team_id=job.team_id, user_id=user_id).first()
    if membership is None:
        raise NotFound("that person is not on the job's team")
    membership.role = TeamRole.REVIEWER if reviewer else TeamRole.MEMBER
    membership.save(update_fields=["role"])
    return membership
