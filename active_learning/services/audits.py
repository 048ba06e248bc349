"""Audits: send a random sample of auto-labels back to humans and compare their answers.

Box and mask jobs compare by IoU instead and report the audited items' mean IoU with its
bounds against the mean IoU the threshold promised.

When the measured agreement falls below the job's target (point estimate once the sample is
answered, or sooner when even the upper confidence bound is below it), auto-labeling stops
and says why.
"""

import random

import numpy as np
from django.db import transaction
from django.utils import timezone

from active_learning.iou_threshold import mean_lower_bound, mean_upper_bound
from active_learning.labelspace import label_key
from active_learning.models import Audit, AutoLabel, AutoLabeling
from active_learning.services.budget import BUDGET_SPENT, budget_use
from active_learning.services.priorities import AUDIT_PRIORITY, PRIORITY_BATCH_SIZE
from active_learning.services.settings import auto_labeling_stop
from active_learning.shapespace import SHAPE_TASK_TYPES, mean_iou_target
from active_learning.states import AuditStatus
from active_learning.threshold import accuracy_lower_bound, accuracy_upper_bound
from labeling.errors import Conflict, ValidationFailed
from labeling.models import ConsolidatedLabel, Item, Job, User
from labeling.services.machine_labels import items_unlabel_machine
from labeling.states import JobStatus
from labeling.task_types.auto_labeling import auto_labeling_target

MAX_AUDIT_SIZE = 5000


def audit_start(*, job: Job, by: User, sample_size: int, seed: int | None = None) -> Audit:
    """Reopen a random sample of the job's auto-labeled items for humans, first in the queue."""
    if not isinstance(sample_size, int) or not 1 <= sample_size <= MAX_AUDIT_SIZE:
        raise ValidationFailed(
            f"sample_size must be between 1 and {MAX_AUDIT_SIZE}", details={"field": "sample_size"}
        )
    if job.status != JobStatus.IN_PROGRESS:
        raise Conflict(
            "only a job in progress can send items back to humans", code="job_not_in_progress"
        )
    with transaction.atomic():
        config = AutoLabeling.objects.select_for_update().filter(job_id=job.pk).first()
        if config is None:
            raise Conflict("automated labeling was never turned on for this job", code="not_on")
        if Audit.objects.filter(job_id=job.pk, status=AuditStatus.OPEN).exists():
            raise Conflict("an audit of this job is still open", code="audit_open")
        candidates = list(
            AutoLabel.objects.filter(
                job_id=job.pk, audit__isnull=True, item__consolidated__human_annotated=False
            )
            .order_by("item_id")
            .values_list("item_id", flat=True)
        )
        if not candidates:
            raise Conflict("there are no auto-labels to audit", code="nothing_to_audit")
        chooser = random.SystemRandom() if seed is None else random.Random(seed)
        sample = chooser.sample(candidates, min(sample_size, len(candidates)))
        if config.human_budget is not None:  # audited items count as human-labeled items
            use = budget_use(job_id=job.pk, budget=config.human_budget)
            if use.used + len(sample) > use.budget:
                raise Conflict(
                    f"an audit of {len(sample)} items needs that many human labels, and the "
                    f"human budget has {max(use.budget - use.used, 0)} left: raise the "
                    "budget or audit fewer",
                    code=BUDGET_SPENT,
                )
        shapes = job.task_type in SHAPE_TASK_TYPES
        audit = Audit.objects.create(
            job_id=job.pk,
            sample_size=len(sample),
            # Box and mask jobs: the mean IoU the threshold was proven against.
            promised_accuracy=(
                mean_iou_target(job.task_type, config.target_mean_iou)
                if shapes
                else config.target_accuracy
            ),
            metric="mean-iou" if shapes else "accuracy",
            created_by=by,
        )
        reopened = items_unlabel_machine(job_id=job.pk, item_ids=sample)
        AutoLabel.objects.filter(item_id__in=reopened).update(audit=audit)
        Item.objects.bulk_update(
            [Item(pk=item_id, priority=AUDIT_PRIORITY) for item_id in reopened],
            ["priority"],
            batch_size=PRIORITY_BATCH_SIZE,
        )
        if len(reopened) != len(sample):
            audit.sample_size = len(reopened)
            audit.save(update_fields=["sample_size"])
    return audit


def audit_evaluate(*, audit_id: int) -> Audit:
    """Count the human answers so far against the model's labels; pass, fail or wait."""
    with transaction.atomic():
        audit = Audit.objects.select_for_update().get(pk=audit_id)
        if audit.status != AuditStatus.OPEN:
            return audit
        if audit.metric == "mean-iou":
            return _evaluate_mean_iou(audit)
        # Agreement: the same class, or for multi-label the exact same set.
        pairs = [
            (item_id, label_key(label, value))
            for item_id, label, value in AutoLabel.objects.filter(audit_id=audit.pk).values_list(
                "item_id", "label", "value"
            )
        ]
        human = {
            item_id: label_key(label, value)
            for item_id, label, value in ConsolidatedLabel.objects.filter(
                item_id__in=[item_id for item_id, _ in pairs], human_annotated=True
            ).values_list("item_id", "label", "value")
        }
        answered = [(label, human[item_id]) for item_id, label in pairs if item_id in human]
        audit.answered = len(answered)
        audit.agreed = sum(model == person for model, person in answered)
        fields = ["answered", "agreed"]
        target = audit.promised_accuracy
        upper = float(accuracy_upper_bound(audit.agreed, audit.answered, 0.05))
        lower = float(accuracy_lower_bound(audit.agreed, audit.answered, 0.05))
        done = audit.answered >= audit.sample_size
        measured = audit.measured_accuracy
        summary = (
            f"humans agreed with {audit.agreed} of {audit.answered} audited auto-labels "
            f"({measured:.3f}; 95% bounds {lower:.3f}–{upper:.3f}); promised {target}"
            if measured is not None
            else ""
        )
        if measured is not None and (upper < target or (done and measured < target)):
            audit.status = AuditStatus.FAILED
            audit.message = summary
            audit.finished_at = timezone.now()
            fields += ["status", "message", "finished_at"]
            auto_labeling_stop(
                job_id=audit.job_id,
                reason=f"audit {audit.pk} failed: {summary}; auto-labeling stopped",
            )
        elif done:
            audit.status = AuditStatus.PASSED
            audit.message = summary
            audit.finished_at = timezone.now()
            fields += ["status", "message", "finished_at"]
        audit.save(update_fields=fields)
    return audit


def _evaluate_mean_iou(audit: Audit) -> Audit:
    """A box or mask audit (inside audit_evaluate's transaction): the IoU of each model label
    against the human one; fails when even the upper bound of the mean is below the promise,
    or the point estimate once the sample is answered. The bounds are the ones the threshold
    used (``active_learning.iou_threshold``), at 95 %."""
    job = Job.objects.only("task_type", "labels").get(pk=audit.job_id)
    model_values = dict(AutoLabel.objects.filter(audit_id=audit.pk).values_list("item_id", "value"))
    human = dict(
        ConsolidatedLabel.objects.filter(
            item_id__in=list(model_values), human_annotated=True
        ).values_list("item_id", "value")
    )
    target = auto_labeling_target(job.task_type)
    assert target is not None
    ious = np.asarray(
        [target.score(model_values[i], human[i]) for i in model_values if i in human], float
    )
    audit.answered = len(ious)
    audit.agreed = int((ious >= audit.promised_accuracy).sum())
    audit.iou_sum = float(ious.sum())
    fields = ["answered", "agreed", "iou_sum", "iou_lower_bound"]
    promised = audit.promised_accuracy
    done = audit.answered >= audit.sample_size
    audit.iou_lower_bound = mean_lower_bound(ious, 0.05) if len(ious) else None
    if len(ious):
        upper = mean_upper_bound(ious, 0.05)
        measured = float(ious.mean())
        summary = (
            f"the audited auto-labels have a mean IoU of {measured:.3f} against the humans' "
            f"on {audit.answered} items (95% bounds {audit.iou_lower_bound:.3f}–{upper:.3f}); "
            f"promised {promised}"
        )
        failed = upper < promised or (done and measured < promised)
        if failed or done:
            audit.status = AuditStatus.FAILED if failed else AuditStatus.PASSED
            audit.message = summary
            audit.finished_at = timezone.now()
            fields += ["status", "message", "finished_at"]
        if failed:
            auto_labeling_stop(
                job_id=audit.job_id,
                reason=f"audit {audit.pk} failed: {summary}; auto-labeling stopped",
            )
    audit.save(update_fields=fields)
    return audit


def audits_evaluate_open(*, job_id: int) -> int:
    ids = list(
        Audit.objects.filter(job_id=job_id, status=AuditStatus.OPEN).values_list("pk", flat=True)
    )
    for audit_id in ids:
        audit_evaluate(audit_id=audit_id)
    return len(ids)
