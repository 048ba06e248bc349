"""Writing consolidated labels: gather an item's answers, run the job's strategy, store it."""

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from labeling.consolidation import get_strategy
from labeling.consolidation.base import MISSING
from labeling.errors import Conflict
from labeling.events import item_answers_complete, item_consolidated, publish_on_commit
from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    Item,
    ItemEvent,
    ItemEventKind,
    Job,
    ReviewStatus,
)
from labeling.quality.services.gold_shapes import scored_by_similarity
from labeling.quality.services.item_agreement import item_agreement_of
from labeling.quality.services.reliability import JobRules, multilabel_answer_reliability
from labeling.quality.services.reliability_shapes import shape_answer_weights
from labeling.quality.services.scoring import excluded_workers, item_score
from labeling.services.counters import job_counters_add, job_counters_update_statement
from labeling.services.item_events import (
    ReviewSettings,
    consolidated_chosen_for_review,
    consolidated_enter_review,
    consolidated_event_data,
)
from labeling.services.jobs import job_complete_if_done
from labeling.services.label_classes import consolidated_classes_write
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import is_structured

# Task types whose answers are one class each: the job's method (majority vote or EM with
# the stored worker estimates, issue 5) consolidates them; others use their own strategy.
CLASSIFICATION_STRATEGY = "majority"

# Issue 16 (pipelines' consolidation hooks): another part of the app may take over the
# consolidation of a job's items. A takeover is asked with the job's id; when one says yes, the
# item is left open with its answers and ``item_answers_complete`` is published after commit;
# the taker writes the label back with ``item_label_store``.
ConsolidationTakeover = Callable[[int], bool]
_TAKEOVERS: list[ConsolidationTakeover] = []


def register_consolidation_takeover(takeover: ConsolidationTakeover) -> None:
    if takeover not in _TAKEOVERS:
        _TAKEOVERS.append(takeover)


def item_consolidate(
    *,
    item_id: int,
    job_id: int,
    task_type: str,
    labels: list[str],
    rules: JobRules | None = None,
    count_in_shard: int | None = None,
) -> ConsolidatedLabel | None:
    """Consolidate an item that has all its answers (inside the caller's transaction); None
    when a takeover consolidates it instead (the item stays open until it does).

    ``count_in_shard``: also count the labeled item in the job's counters, in the shard of
    this key (on PostgreSQL with the label's own statement); the caller counts it otherwise."""
    if any(takeover(job_id) for takeover in _TAKEOVERS):
        publish_on_commit(item_answers_complete, job_id=job_id, item_id=item_id)
        return None
    if is_structured(get_task_type(task_type)):
        return _consolidate_structured(
            item_id=item_id,
            job_id=job_id,
            task_type=task_type,
            labels=labels,
            rules=rules,
            count_in_shard=count_in_shard,
        )
    strategy = get_strategy(get_task_type(task_type).consolidation)
    if strategy.name == CLASSIFICATION_STRATEGY:
        winner, confidence, method, answers_count = item_score(
            job_id=job_id, item_id=item_id, labels=labels, rules=rules
        )
    else:
        winner, confidence, method, answers_count = _by_strategy(strategy, item_id, labels)
    label = labels[winner] if winner != MISSING else ""
    consolidated = ConsolidatedLabel(
        item_id=item_id,
        job_id=job_id,
        value={"label": label, "class_id": winner},
        label=label,
        confidence=round(confidence, 6),
        method=method,
        human_annotated=True,
        answers_count=answers_count,
    )
    return _store(consolidated, count_in_shard=count_in_shard)


def _consolidate_structured(
    *,
    item_id: int,
    job_id: int,
    task_type: str,
    labels: list[str],
    rules: JobRules | None = None,
    count_in_shard: int | None = None,
) -> ConsolidatedLabel:
    """Task types with more than a class per answer (boxes, masks, ...) consolidate themselves.

    A job that leaves paused workers' answers out (``exclude_paused_answers``) leaves them out
    here too, as classification's scoring does; an item answered only by paused workers is
    still consolidated from their answers (a drawing job has no "no label" to give it)."""
    rows = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("answer", "worker_id")
    )
    given = len(rows)  # every answer of the item, counted or not (as classification counts)
    excluded = excluded_workers(job_id, rules)
    if excluded and any(worker_id not in excluded for _, worker_id in rows):
        rows = [(answer, worker_id) for answer, worker_id in rows if worker_id not in excluded]
    answers = [answer for answer, _ in rows]
    item_data = json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))
    kind = get_task_type(task_type)
    extra = {}
    if getattr(kind, "votes_by_class", False):  # issue 5: multi-label EM's per-label estimates
        reliability = multilabel_answer_reliability(
            job_id=job_id, worker_ids=[w for _, w in rows], n_labels=len(labels)
        )
        if reliability is not None:
            extra["reliability"] = reliability
    if hasattr(kind, "answer_weights"):  # issue 17: workers' reliability fitted over the job
        extra["reliability"] = kind.answer_weights(
            _job_answers(job_id), [w for _, w in rows], labels
        )
    if getattr(kind, "answers_with_workers", False):  # issue 17: the answers' provenance
        extra["workers"] = [w for _, w in rows]
    if getattr(kind, "weighted_by_reliability", False):  # issue 19: stored reliabilities
        weights = shape_answer_weights(job_id=job_id, worker_ids=[w for _, w in rows])
        if weights is not None:
            extra["weights"] = weights
    result = kind.consolidate_answers(answers, labels, item_data=item_data, **extra)
    consolidated = ConsolidatedLabel(
        item_id=item_id,
        job_id=job_id,
        value=result.value,
        label=result.label[:200],
        confidence=min(1.0, max(0.0, result.confidence)),
        method=result.method,
        human_annotated=True,
        answers_count=given,
        agreement=item_agreement_of(kind, answers, labels, item_data),
    )
    stored = _store(consolidated, count_in_shard=count_in_shard)
    consolidated_classes_write(task_type=task_type, consolidated=[stored], replace=False)
    return stored


# The job's latest answers a reliability fit reads when an item consolidates (bounded work).
JOB_FIT_ANSWERS = 10_000


def _job_answers(job_id: int) -> list[tuple[int, int, dict]]:
    """(item id, worker id, answer) of the job's latest ``JOB_FIT_ANSWERS`` answers."""
    return list(
        Annotation.objects.filter(job_id=job_id)
        .order_by("-id")
        .values_list("item_id", "worker_id", "answer")[:JOB_FIT_ANSWERS]
    )


# PostgreSQL (issue 20: a consolidation is 1 in 3 answers of a 3-worker job, and its writes
# were 5 ORM round trips): the item is marked labeled and what its review stage reads (the
# item's review marker, the job's review settings) comes back in the same statement; then the
# label, already in or out of the review queue, its history row and, when asked, the labeled
# item's count in a counter shard go in one statement (the shard's row is locked after the
# item's, as every writer of both takes them).
_MARK_LABELED_POSTGRES = """
UPDATE labeling_item AS item SET status = %s FROM labeling_job AS job
WHERE item.id = %s AND job.id = item.job_id
RETURNING item.review_requested, job.review_mode, job.review_share, job.review_below_confidence
"""
_INSERT_LABEL_AND_EVENT_POSTGRES = """
WITH label AS (
    INSERT INTO labeling_consolidatedlabel (item_id, job_id, value, label, confidence, method,
        human_annotated, answers_count, agreement, created_at, review_status)
    VALUES (%(item)s, %(job)s, %(value)s, %(label)s, %(confidence)s, %(method)s,
        %(human_annotated)s, %(answers_count)s, %(agreement)s, %(now)s, %(review_status)s)
    RETURNING id
), event AS (
    INSERT INTO labeling_itemevent (job_id, item_id, kind, at, data)
    VALUES (%(job)s, %(item)s, %(kind)s, %(now)s, %(event)s)
    RETURNING id
){counted}
SELECT (SELECT id FROM label), (SELECT id FROM event){counted_column}
"""


def _label_statement(count_in_shard: int | None, job_id: int) -> tuple[str, dict[str, int]]:
    """The label's statement, with the counter shard's update when one is asked."""
    if count_in_shard is None:
        return _INSERT_LABEL_AND_EVENT_POSTGRES.format(counted="", counted_column=""), {}
    update, values = job_counters_update_statement(
        job_id=job_id, shard_key=count_in_shard, items_labeled=1, answers=0
    )
    names = [f"shard_{index}" for index in range(len(values))]
    update = update % tuple(f"%({name})s" for name in names)
    sql = _INSERT_LABEL_AND_EVENT_POSTGRES.format(
        counted=f", counted AS ({update})", counted_column=", EXISTS (SELECT 1 FROM counted)"
    )
    return sql, dict(zip(names, values, strict=True))


def _store(consolidated: ConsolidatedLabel, count_in_shard: int | None = None) -> ConsolidatedLabel:
    """Store a new consolidated label (not saved yet), mark its item labeled, put it in the
    review queue when the job's review stage takes it, record it in the item's history and,
    with ``count_in_shard``, count it in the job's counters."""
    if connection.vendor != "postgresql":
        consolidated.save(force_insert=True)
        Item.objects.filter(pk=consolidated.item_id).update(status=ItemStatus.LABELED)
        consolidated_enter_review(consolidated=consolidated)  # issue 14: history, review stage
        if count_in_shard is not None:
            job_counters_add(
                job_id=consolidated.job_id, shard_key=count_in_shard, items_labeled=1, answers=0
            )
        return _published(consolidated)
    with connection.cursor() as cursor:
        cursor.execute(_MARK_LABELED_POSTGRES, [ItemStatus.LABELED, consolidated.item_id])
        review = ReviewSettings(*cursor.fetchone())
        if consolidated_chosen_for_review(consolidated=consolidated, review=review):
            consolidated.review_status = ReviewStatus.PENDING
        consolidated.created_at = timezone.now()
        event_data = consolidated_event_data(consolidated)
        sql, shard_params = _label_statement(count_in_shard, consolidated.job_id)
        cursor.execute(
            sql,
            {
                **shard_params,
                "item": consolidated.item_id,
                "job": consolidated.job_id,
                "value": json.dumps(consolidated.value),
                "label": consolidated.label,
                "confidence": consolidated.confidence,
                "method": consolidated.method,
                "human_annotated": consolidated.human_annotated,
                "answers_count": consolidated.answers_count,
                "agreement": consolidated.agreement,
                "now": consolidated.created_at,
                "review_status": consolidated.review_status,
                "kind": ItemEventKind.CONSOLIDATED,
                "event": json.dumps(event_data),
            },
        )
        consolidated.pk, event_id, *counted = cursor.fetchone()
    if count_in_shard is not None and not counted[0]:  # the shard is missing: created here
        job_counters_add(
            job_id=consolidated.job_id, shard_key=count_in_shard, items_labeled=1, answers=0
        )
    consolidated._state.adding, consolidated._state.db = False, connection.alias
    # The history row's post_save, as its .save() would send it, inside this transaction (its
    # receivers write in it: a streaming job's results feed, labeling/pipelines/receivers.py).
    event = ItemEvent(
        pk=event_id,
        job_id=consolidated.job_id,
        item_id=consolidated.item_id,
        kind=ItemEventKind.CONSOLIDATED,
        at=consolidated.created_at,
        data=event_data,
    )
    event._state.adding, event._state.db = False, connection.alias
    post_save.send(
        sender=ItemEvent,
        instance=event,
        created=True,
        update_fields=None,
        raw=False,
        using=connection.alias,
    )
    return _published(consolidated)


def _published(consolidated: ConsolidatedLabel) -> ConsolidatedLabel:
    item_id, job_id, label = consolidated.item_id, consolidated.job_id, consolidated.label
    publish_on_commit(
        item_consolidated,
        job_id=job_id,
        item_id=item_id,
        label=label,
        confidence=consolidated.confidence,
    )
    return consolidated


def _by_strategy(strategy, item_id: int, labels: list[str]) -> tuple[int, float, str, int]:
    answers = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("label", "worker_id")
    )
    class_index = {label: index for index, label in enumerate(labels)}
    votes = np.array([[class_index.get(label, MISSING) for label, _ in answers]], dtype=np.int64)
    workers = np.array([[worker for _, worker in answers]], dtype=np.int64)
    winners, confidences = strategy.consolidate(votes, len(labels), workers)
    return int(winners[0]), float(confidences[0]), strategy.name, len(answers)


def item_label_store(
    *,
    item_id: int,
    job_id: int,
    value: dict[str, Any],
    label: str,
    confidence: float,
    method: str,
    human_annotated: bool = True,
) -> ConsolidatedLabel:
    """Store a label made outside the job's strategies (issue 16: a consolidation hook's answer,
    or a pre-annotation hook's label for an item that needs no human) for an item that has
    none, count it and complete the job when it was the last; raises Conflict when the item is
    already labeled or gone. The value is checked by the caller (it is shaped like the task
    type's own consolidated values)."""
    with transaction.atomic():
        item = (
            Item.objects.select_for_update()
            .filter(pk=item_id, job_id=job_id)
            .only("status", "answers")
            .first()
        )
        # LABELED without a label: a revision within the window took the label back and the
        # takeover writes it again; that item is counted already.
        if item is None or item.status not in (
            ItemStatus.OPEN,
            ItemStatus.HELD,
            ItemStatus.LABELED,
        ):
            raise Conflict(f"item {item_id} can't be labeled now", code="item_not_open")
        if ConsolidatedLabel.objects.filter(item_id=item_id).exists():
            raise Conflict(f"item {item_id} is already labeled", code="item_labeled")
        counted = item.status == ItemStatus.LABELED
        task_type, job_labels = Job.objects.values_list("task_type", "labels").get(pk=job_id)
        consolidated = _store(
            ConsolidatedLabel(
                item_id=item_id,
                job_id=job_id,
                value=value,
                label=label[:200],
                confidence=round(min(max(float(confidence), 0.0), 1.0), 6),
                method=method[:32],
                human_annotated=human_annotated,
                answers_count=item.answers,
                agreement=(
                    _hook_label_agreement(item_id, task_type, list(job_labels))
                    if human_annotated
                    else None
                ),
            ),
            count_in_shard=None if counted else item_id,
        )
        consolidated_classes_write(
            task_type=task_type,
            consolidated=[consolidated],
            replace=False,
        )
        if not counted:
            job_complete_if_done(job_id=job_id)
    return consolidated


def _hook_label_agreement(item_id: int, task_type: str, labels: list[str]) -> float | None:
    """A hook's label from the item's answers (issue 16) stores their agreement as the job's
    own consolidation would (two queries, on drawing and span task types only)."""
    kind = get_task_type(task_type)
    if not scored_by_similarity(kind):
        return None
    answers = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("answer", flat=True)
    )
    if len(answers) < 2:
        return None
    data = Item.objects.values_list("data", flat=True).get(pk=item_id)
    item_data = json.loads(data) if isinstance(data, str) else data
    return item_agreement_of(kind, answers, labels, item_data)
