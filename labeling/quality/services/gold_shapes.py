"""Gold items of drawing and span jobs (issue 19): their known answer and the score of an
answer against it.

A known answer is a whole answer of the job's task type (boxes, polygons, a label map,
entity spans, tracks...), checked by its ``parse_answer`` (and ``check_answer_for_item``)
exactly as a worker's is at submit, and kept on the ``GoldItem`` row, never in the item's
data. A worker's answer to a gold item scores its ``answer_similarity`` with the known one
(IoU, keypoint closeness, span F1, track IoU: ``labeling.consolidation.similarity``) and
passes at the job's ``gold_pass_similarity`` (the type's default, 0.5, when unset).

Scoring happens in the submit, inside its transaction, as classification gold's does, and
does the same work whatever the item: every submit of a structured job with gold reads the
gold row of its item (none for an ordinary item), compares the answer with the known one
(with itself for an ordinary item: the same comparison, so the same cost), and runs the one
upsert, which matches nothing for an ordinary item. Nothing a labeler receives, nor when,
says an item was gold.
"""

import json
from typing import Any

from django.db import connection

from labeling.errors import ValidationFailed
from labeling.models import Job
from labeling.services.manager_labels import NOT_ONE_CLASS, ManagerLabel
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, TaskType, answers_compared, answers_one_class

# An answer at least half as alike as the known one (IoU, F1, closeness) passes by default.
GOLD_PASS_DEFAULT = 0.5

_KNOWN_ANSWER = "SELECT answer FROM labeling_golditem WHERE item_id = %(item)s"

_SCORE_STRUCTURED = """
INSERT INTO labeling_workerquality (job_id, worker_id, answers, confusion, label_reliability,
                                    gold_answers, gold_correct, gold_score_sum, paused,
                                    paused_reason)
SELECT %(job)s, %(worker)s, 0, '[]', '{}', 1, %(passed)s, %(score)s, %(false)s, ''
FROM labeling_golditem AS gold WHERE gold.item_id = %(item)s
ON CONFLICT (job_id, worker_id) DO UPDATE SET
    gold_answers = labeling_workerquality.gold_answers + 1,
    gold_correct = labeling_workerquality.gold_correct + excluded.gold_correct,
    gold_score_sum = labeling_workerquality.gold_score_sum + excluded.gold_score_sum
RETURNING gold_answers, gold_correct, paused
"""


def scored_by_similarity(task_type: TaskType) -> bool:
    """Whether gold on ``task_type`` is a whole known answer scored by similarity (drawing
    and span types) rather than one class compared in SQL."""
    return answers_compared(task_type) and not answers_one_class(task_type)


def gold_pass_mark(task_type: TaskType, job_setting: float | None) -> float:
    """The similarity at which an answer to a gold item passes."""
    if job_setting is not None:
        return float(job_setting)
    return float(getattr(task_type, "gold_pass_similarity", GOLD_PASS_DEFAULT))


def gold_known_answer(
    *, job: Job, answer: object, item_data: str | dict[str, Any]
) -> tuple[ManagerLabel, dict[str, Any]]:
    """A structured gold item's known answer, checked as a worker's is at submit: the label
    and consolidated value its item stands labeled with, and the parsed answer to score
    against. Raises ValidationFailed naming what is wrong."""
    task_type = get_task_type(job.task_type)
    if not scored_by_similarity(task_type):
        raise ValidationFailed(
            f"gold items of task type {task_type.key} take a known label, not an answer",
            details={"field": "answer"},
        )
    if answer is None:
        raise ValidationFailed(
            f"answers of task type {task_type.key} ({task_type.title}) are not one class: a "
            'gold item needs its known answer in "answer" (an answer as a worker submits it)',
            code=NOT_ONE_CLASS,
            details={"field": "answer", "task_type": task_type.key},
        )
    labels = list(job.labels)
    line = json.loads(item_data) if isinstance(item_data, str) else item_data
    try:
        parsed = task_type.parse_answer(answer, labels)
        if hasattr(task_type, "check_answer_for_item"):
            task_type.check_answer_for_item(parsed.answer, line)
    except AnswerProblem as exc:
        raise ValidationFailed(f"answer: {exc}", details={"field": "answer"}) from None
    result = task_type.consolidate_answers([parsed.answer], labels, item_data=line)
    return ManagerLabel(label=(result.label or parsed.label)[:200], value=result.value), (
        parsed.answer
    )


def gold_score_structured(
    *,
    job_id: int,
    worker_id: int,
    item_id: int,
    task_type: TaskType,
    answer: dict[str, Any],
    labels: list[str],
    pass_setting: float | None,
) -> tuple[int, int, bool] | None:
    """Score ``answer`` if ``item_id`` is gold: (gold answers, passed, paused) of the worker
    after it, or None for an ordinary item. The same reads and comparison either way."""
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN_ANSWER, {"item": item_id})
        row = cursor.fetchone()
        known = row[0] if row is not None else None
        if isinstance(known, str):  # a raw cursor may hand JSON back as text
            known = json.loads(known)
        score = _similarity(task_type, answer, known or answer, labels)
        passed = score >= gold_pass_mark(task_type, pass_setting) - 1e-9
        cursor.execute(
            _SCORE_STRUCTURED,
            {
                "job": job_id,
                "worker": worker_id,
                "item": item_id,
                "passed": int(passed),
                "score": score,
                "false": False,
            },
        )
        scored = cursor.fetchone()
    return tuple(scored) if scored is not None else None


def _similarity(
    task_type: TaskType, answer: dict[str, Any], known: dict[str, Any], labels: list[str]
) -> float:
    try:
        return float(task_type.answer_similarity(answer, known, labels))
    except (KeyError, TypeError, ValueError, OSError):
        # A known answer the type can no longer read (e.g. a label map's file gone): the
        # worker is not marked down for it.
        return 1.0
