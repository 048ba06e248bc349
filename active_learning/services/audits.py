"""Audits: send a random sample of auto-labels back to humans and compare their answers.

When the measured agreement falls below the job's target (point estimate once the sample is
answered, or sooner when even the upper confidence bound is below it), auto-labeling stops
and says why.
"""

import random

from django.db import transaction
from django.utils import timezone

from active_learning.labelspace import label_key
from active_learning.models import Audit, AutoLabel, AutoLabeling
from active_learning.services.budget import BUDGET_SPENT, budget_use
from active_learning.services.priorities import AUDIT_PRIORITY, PRIORITY_BATCH_SIZE
from active_learning.services.settings import auto_labeling_stop
from active_learning.states import AuditStatus
from active_learning.threshold import accuracy_lower_bound, accuracy_upper_bound
from labeling.errors import Conflict, ValidationFailed
from labeling.models import ConsolidatedLabel, Item, Job, User
from labeling.services.machine_labels import items_unlabel_machine
from labeling.states import JobStatus

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
        audit = Audit.objects.create(
            job_id=job.pk,
            sample_size=len(sample),
            promised_accuracy=config.target_accuracy,
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


def audits_evaluate_open(*, job_id: int) -> int:
    ids = list(
        Audit.objects.filter(job_id=job_id, status=AuditStatus.OPEN).values_list("pk", flat=True)
    )
    for audit_id in ids:
        audit_evaluate(audit_id=audit_id)
    return len(ids)
