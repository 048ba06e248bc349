"""What the submit path asks of quality and workforces once an answer is stored (one call)."""

from django.db.models import F
from django.db.models.functions import Greatest

from labeling.models import Item
from labeling.quality.math.adaptive import OverlapPolicy
from labeling.quality.math.shape_reliability import stop_similarity
from labeling.quality.services.gold import gold_score_answer
from labeling.quality.services.reliability import JobRules, job_rules, quality_request_reestimate
from labeling.quality.services.reliability_shapes import shape_item_agreement, shapes_weighted
from labeling.quality.services.scoring import item_stop_confidence
from labeling.task_types import get_task_type
from labeling.workforces.services.workforces import earning_record


def quality_after_answer(
    *, job_id: int, item_id: int, worker_id: int, annotation_id: int, label: str, answers: int,
    item_open: bool, due: bool, rules: JobRules | None = None, task_type: str = "",
    answer: dict | None = None,
) -> bool:  # fmt: skip
    """Called by the submit, inside its transaction, once the answer is stored.

    Scores answers to gold items, writes the earnings line of a rewarded job, lets adaptive
    overlap finish an item early or give it one more slot, and asks for a re-estimation when
    an item is done. Returns whether the item must be consolidated now. Costs one
    primary-key read of the job's rules per answer unless the caller passes them (the submit
    does, from its lease statement on PostgreSQL), plus what the job's settings ask for.
    ``task_type`` (the job's) lets drawing and span jobs stop on their answers' agreement.
    """
    rules = rules or job_rules(job_id)
    if rules.gold_rate > 0:  # every answer of a job with gold: one statement, gold or not
        gold_score_answer(
            job_id=job_id, worker_id=worker_id, item_id=item_id, label=label, rules=rules,
            task_type=task_type, answer=answer,
        )  # fmt: skip
    if rules.reward_cents:
        earning_record(
            job_id=job_id,
            worker_id=worker_id,
            annotation_id=annotation_id,
            reward_cents=rules.reward_cents,
        )
    if not item_open:  # a gold item, or one adaptive overlap finished while this lease ran
        return False
    if due:
        quality_request_reestimate(job_id=job_id)
        return True
    if not rules.adaptive or answers < rules.min_workers_per_item:
        return False
    kind = get_task_type(task_type) if task_type else None
    if kind is not None and shapes_weighted(kind):
        # Issue 19 (bench/quality_shapes.py replays it): the answers' weighted mean pairwise
        # similarity under the stored reliabilities against the task type's threshold.
        target = stop_similarity(kind.consolidation)
        confidence = shape_item_agreement(
            job_id=job_id, item_id=item_id, kind=kind, labels=rules.labels
        )
    else:
        # The same rule bench/adaptive_overlap.py replays: the posterior under the stored
        # estimates (default workers before the first re-estimation) against the target.
        target = rules.target_confidence
        confidence = item_stop_confidence(
            job_id=job_id, item_id=item_id, labels=rules.labels, rules=rules
        )
    policy = OverlapPolicy(
        min(rules.min_workers_per_item, rules.workers_per_item), rules.workers_per_item, target
    )
    if policy.is_done(answers, confidence):
        quality_request_reestimate(job_id=job_id)
        return True
    # Workers disagree: one more slot than the answers so far, up to the job's maximum.
    wanted = min(answers + 1, rules.workers_per_item) - rules.min_workers_per_item
    Item.objects.filter(pk=item_id).update(extra_slots=Greatest(F("extra_slots"), wanted))
    return False
