"""Gold items: known answers mixed into workers' queues, scored, and the pause they lead to.

A gold item is an ordinary item of the job with a ``GoldItem`` row beside it. It is labeled
from the start (its known answer is its label, method ``gold``), so no consolidation ever
counts it. It sits in the job's queue at its own place (priority, then its id, or the
``queue_position`` that gold imported after the items gets among them), and the claim's
one statement (services/assignments.py) reads the head of the open items and the head of
the gold items this worker's gate lets in, and leases whichever comes first. The gate is a
hash of (worker, item) against the job's ``gold_rate``: each worker gets that share of the
gold items, always the same ones, each where it stands in the queue. So a gold item is
leased by the same statement, in the same order and at the same cost as any other, and is
shown and submitted exactly like one (its score is one statement that every submit of a
job with gold runs): nothing a labeler receives, nor when, says it is gold.
"""

import json
import random

from django.db import connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from labeling.errors import NotAllowed, NotFound, ValidationFailed
from labeling.models import (
    ConsolidatedLabel,
    GoldItem,
    GoldPurpose,
    Item,
    Job,
    Qualification,
    User,
    WorkerQuality,
)
from labeling.quality.services.gold_shapes import (
    gold_known_answer,
    gold_score_structured,
    scored_by_similarity,
)
from labeling.quality.services.reliability import JobRules, quality_request_reestimate
from labeling.services.counters import job_counters_add
from labeling.services.item_text import item_text_store
from labeling.services.label_classes import (
    consolidated_classes_refresh,
    consolidated_classes_write,
)
from labeling.services.manager_labels import ManagerLabel, manager_label_parse
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem

MAX_GOLD_PER_REQUEST = 5000
# Item.taken and Item.answers are small integers: a gold item retires before they overflow.
GOLD_MAX_TAKEN = 32_000
# The gate: gold item i is in worker w's queue when (i * A + w * B) mod M < gold_rate * M.
# A / M is close to the golden ratio, so along a worker's queue the gold items let in are
# spread evenly, and B differs so that two workers get different ones. Plain integer
# arithmetic: the same on PostgreSQL, SQLite and in Python.
GOLD_GATE_MODULUS = 65_536
GOLD_GATE_ITEM_FACTOR = 40_503
GOLD_GATE_WORKER_FACTOR = 31_153

# Every submit of a job with gold runs this one statement: for an answer to a gold item it
# counts the answer (and whether it was right) on the worker's row, creating the row if
# need be, and returns the new counts; for any other answer it matches nothing.
_SCORE_GOLD_ANSWER = """
INSERT INTO labeling_workerquality (job_id, worker_id, answers, confusion, label_reliability,
                                    gold_answers, gold_correct, gold_score_sum, paused,
                                    paused_reason)
SELECT %(job)s, %(worker)s, 0, '[]', '{}', 1,
       CASE WHEN gold.label = %(label)s THEN 1 ELSE 0 END,
       CASE WHEN gold.label = %(label)s THEN 1.0 ELSE 0.0 END, %(false)s, ''
FROM labeling_golditem AS gold WHERE gold.item_id = %(item)s
ON CONFLICT (job_id, worker_id) DO UPDATE SET
    gold_answers = labeling_workerquality.gold_answers + 1,
    gold_correct = labeling_workerquality.gold_correct + excluded.gold_correct,
    gold_score_sum = labeling_workerquality.gold_score_sum + excluded.gold_score_sum
RETURNING gold_answers, gold_correct, paused
"""


def _places_among_items(job: Job, count: int) -> list[int | None]:
    """Queue places for ``count`` gold items imported now: ids drawn evenly from the job's
    items so far, so that they come spread through the queue rather than after every item
    (None, their own ids, in a job without items yet). Their own ids are still later than
    their neighbours'; marking items of the job gold leaves no such trace (docs/quality.md).
    """
    low, high = Item.objects.filter(job_id=job.pk).aggregate(Min("id"), Max("id")).values()
    if low is None:
        return [None] * count
    draw = random.Random()  # noqa: S311 - a place in a queue, not a secret
    # Place p comes just after item p: from before the first item to before the last.
    return [draw.randint(low - 1, high - 1) for _ in range(count)]


def _make_gold(
    job: Job,
    item: Item,
    known: ManagerLabel,
    purpose: str = GoldPurpose.QUEUE,
    place: int | None = None,
    answer: dict | None = None,
) -> GoldItem:
    gold = GoldItem.objects.create(
        item=item,
        job=job,
        label=known.label,
        purpose=purpose,
        queue_position=place,
        answer=answer or {},
    )
    consolidated, _ = ConsolidatedLabel.objects.update_or_create(
        item=item,
        defaults={
            "job": job,
            "label": known.label,
            "value": known.value,
            "confidence": 1.0,
            "method": "gold",
            "human_annotated": True,
            "answers_count": 0,
        },
    )
    consolidated_classes_write(task_type=job.task_type, consolidated=[consolidated])
    return gold


def gold_items_add(
    *, job: Job, entries: list[dict], purpose: str = GoldPurpose.QUEUE
) -> list[GoldItem]:
    """Import gold items: ``[{"data": {...the item line...}, "label": "..."}, ...]``; for a
    drawing or span job ``"answer": {...}`` (an answer as a worker submits it) replaces
    ``"label"`` (issue 19).

    The known label is kept apart from the item's data, so it never reaches a labeler.
    ``purpose`` says whether they are mixed into queues or make the qualification test.
    """
    if purpose not in GoldPurpose.values:
        raise ValidationFailed(f"purpose is one of {', '.join(GoldPurpose.values)}")
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed("send a non-empty list of gold items")
    if len(entries) > MAX_GOLD_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_GOLD_PER_REQUEST} gold items per request")
    task_type = get_task_type(job.task_type)
    structured = scored_by_similarity(task_type)
    if structured and purpose == GoldPurpose.QUALIFICATION:
        raise ValidationFailed(
            f"a qualification test takes one-class answers; task type {task_type.key} "
            "can have gold items mixed into queues (purpose=queue)",
            details={"field": "purpose"},
        )
    known_field = "answer" if structured else "label"
    checked = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            raise ValidationFailed(
                f'gold item {position} needs "data" (an object) and "{known_field}"'
            )
        try:
            task_type.check_source(entry["data"])
        except SourceProblem as exc:
            raise ValidationFailed(f"gold item {position}: {exc}") from None
        data = json.dumps(entry["data"])
        answer = None
        try:
            if structured:
                known, answer = gold_known_answer(
                    job=job, answer=entry.get("answer"), item_data=entry["data"]
                )
            else:
                known = manager_label_parse(job=job, label=entry.get("label"), item_data=data)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"gold item {position}: {exc.message}", details=exc.details, code=exc.code
            ) from None
        checked.append((data, known, answer))
    with transaction.atomic():
        places = _places_among_items(job, len(checked))
        golds = []
        for (data, known, answer), place in zip(checked, places, strict=True):
            item = Item.objects.create(job=job, data=data, status=ItemStatus.LABELED)
            golds.append(_make_gold(job, item, known, purpose, place, answer))
        item_ids = [gold.item_id for gold in golds]
        if item_ids:
            item_text_store(job_id=job.pk, first_item_id=min(item_ids), last_item_id=max(item_ids))
        Job.objects.filter(pk=job.pk).update(items_total=F("items_total") + len(golds))
        job_counters_add(job_id=job.pk, shard_key=0, items_labeled=len(golds), answers=0)
    return golds


def gold_item_mark(
    *, job: Job, item_id: int, label: str | None = None, answer: object = None
) -> GoldItem:
    """Make an existing item of the job gold, with its known answer (checked by the job's
    task type like a worker's answer): ``label`` for one-class types, ``answer`` (a whole
    answer) for drawing and span types."""
    structured = scored_by_similarity(get_task_type(job.task_type))
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(pk=item_id, job_id=job.pk).first()
        if item is None:
            raise NotFound(f"there is no item {item_id} in this job")
        if structured:
            known, parsed = gold_known_answer(job=job, answer=answer, item_data=item.data)
        else:
            known, parsed = manager_label_parse(job=job, label=label, item_data=item.data), None
        if GoldItem.objects.filter(item=item).exists():
            GoldItem.objects.filter(item=item).update(label=known.label, answer=parsed or {})
            ConsolidatedLabel.objects.filter(item=item).update(label=known.label, value=known.value)
            consolidated_classes_refresh(
                task_type=job.task_type,
                consolidated_ids=ConsolidatedLabel.objects.filter(item=item).values_list(
                    "pk", flat=True
                ),
            )
            return GoldItem.objects.get(item=item)
        if item.status == ItemStatus.OPEN:
            Item.objects.filter(pk=item.pk).update(status=ItemStatus.LABELED)
            job_counters_add(job_id=job.pk, shard_key=0, items_labeled=1, answers=0)
        gold = _make_gold(job, item, known, answer=parsed)
    quality_request_reestimate(job_id=job.pk)
    return gold


def gold_gate(job: Job) -> int:
    """The gate's threshold for ``job``: 0 lets no gold in, ``GOLD_GATE_MODULUS`` all."""
    return round(job.gold_rate * GOLD_GATE_MODULUS)


def gold_lets_in(*, job: Job, worker_id: int, item_id: int) -> bool:
    """Whether ``job``'s gate puts gold item ``item_id`` in the queue of ``worker_id``."""
    mixed = item_id * GOLD_GATE_ITEM_FACTOR + worker_id * GOLD_GATE_WORKER_FACTOR
    return mixed % GOLD_GATE_MODULUS < gold_gate(job)


def gold_score_answer(
    *,
    job_id: int,
    worker_id: int,
    item_id: int,
    label: str,
    rules: JobRules,
    task_type: str = "",
    answer: dict | None = None,
) -> None:
    """Count a worker's answer if ``item_id`` is gold; pause them below the job's bar.

    One statement whatever the item, so that scoring adds nothing a labeler could time.
    A drawing or span job's answer (``task_type`` and the parsed ``answer`` given) is scored
    by its similarity to the known answer instead (``gold_shapes``: the same work whatever
    the item too)."""
    kind = get_task_type(task_type) if task_type else None
    if kind is not None and answer is not None and scored_by_similarity(kind):
        row = gold_score_structured(
            job_id=job_id,
            worker_id=worker_id,
            item_id=item_id,
            task_type=kind,
            answer=answer,
            labels=rules.labels,
            pass_setting=rules.gold_pass_similarity,
        )
        verb = "passed (were close enough to the known answer)"
    else:
        params = {
            "job": job_id,
            "worker": worker_id,
            "item": item_id,
            "label": label,
            "false": False,
        }
        with connection.cursor() as cursor:
            cursor.execute(_SCORE_GOLD_ANSWER, params)
            row = cursor.fetchone()
        verb = "were right"
    if row is None:
        return
    gold_answers, gold_correct, paused = row
    accuracy = gold_correct / gold_answers
    if (
        paused
        or rules.gold_pause_below is None
        or gold_answers < rules.gold_min_answers
        or accuracy >= rules.gold_pause_below
    ):
        return
    reason = (
        f"You are paused on this job: {accuracy:.0%} of your answers to check questions "
        f"{verb}, below the {rules.gold_pause_below:.0%} this job asks for. "
        "Please read the instructions again; a manager can let you resume."
    )
    WorkerQuality.objects.filter(job_id=job_id, worker_id=worker_id, paused=False).update(
        paused=True, paused_reason=reason, paused_at=timezone.now()
    )
    quality_request_reestimate(job_id=job_id)  # their answers may leave consolidation


def worker_check_may_lease(*, job: Job, worker: User) -> None:
    """Refuse a lease to a worker who has not passed the job's qualification test, or who is
    paused on the job (only jobs with a gold bar pause). Free for jobs with neither."""
    if job.qualification_pass_mark is not None and not _qualified(job, worker):
        raise NotAllowed(
            "pass this job's qualification test before working on it",
            code="qualification_required",
        )
    if job.gold_pause_below is None:
        return
    reason = (
        WorkerQuality.objects.filter(job_id=job.pk, worker_id=worker.pk, paused=True)
        .values_list("paused_reason", flat=True)
        .first()
    )
    if reason is not None:
        raise NotAllowed(reason or "you are paused on this job", code="paused_on_job")


def _qualified(job: Job, worker: User) -> bool:
    return Qualification.objects.filter(job_id=job.pk, worker_id=worker.pk, passed=True).exists()


def worker_resume(*, job: Job, worker: User) -> None:
    """A manager lets a paused worker back on the job; their gold count starts afresh."""
    WorkerQuality.objects.filter(job_id=job.pk, worker_id=worker.pk).update(
        paused=False, paused_reason="", paused_at=None, gold_answers=0, gold_correct=0
    )
    quality_request_reestimate(job_id=job.pk)
