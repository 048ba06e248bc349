"""Labels given by a model, not by workers: written, and taken back for an audit, here only.

Every change these make to a job's counters is in ``_count_labeled``, so that how the counters
are stored can change in one place.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, Item, Job
from labeling.services.counters import job_counters_add
from labeling.services.jobs import job_complete_if_done
from labeling.services.label_classes import consolidated_classes_write
from labeling.services.manager_labels import manager_label_parse
from labeling.states import ItemStatus
from labeling.task_types import TaskType, get_task_type
from labeling.task_types.auto_labeling import auto_labeling_target
from labeling.task_types.base import AnswerProblem, answers_one_class

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MachineLabel:
    """A model's label: ``label`` is the class (or a multi-label set joined by commas) and
    ``value`` the label value, shaped like a consolidated human one of the task type."""

    item_id: int
    label: str
    value: dict[str, Any]
    confidence: float


def items_label_by_model(*, job_id: int, labels: Iterable[MachineLabel], method: str) -> list[int]:
    """Label the given items of ``job_id`` as a model predicted; return the ids labeled.

    Each label is checked by the job's task type first, as a worker's answer is: one it
    refuses is left out and logged with the reason (the item stays in the human queue).

    Only items still open and untouched by workers (no lease, no answer) are labeled, each at
    most once: the guarded update re-checks both under the row lock, so a concurrent claim
    or a second run of the same round labels nothing twice. The labels leave the human
    queue with the items; the job completes when its last item is labeled.
    """
    wanted = _checked(job_id, labels)
    if not wanted:
        return []
    with transaction.atomic():
        ids = list(
            Item.objects.select_for_update()
            .filter(job_id=job_id, pk__in=list(wanted), status=ItemStatus.OPEN, taken=0)
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        moved = Item.objects.filter(pk__in=ids, status=ItemStatus.OPEN, taken=0).update(
            status=ItemStatus.LABELED
        )
        if moved != len(ids):  # pragma: no cover - the rows are locked above
            raise RuntimeError(f"{len(ids)} items were locked, {moved} could be labeled")
        stored = ConsolidatedLabel.objects.bulk_create(
            ConsolidatedLabel(
                item_id=item_id,
                job_id=job_id,
                value=wanted[item_id].value,
                label=wanted[item_id].label[:200],
                confidence=round(min(max(float(wanted[item_id].confidence), 0.0), 1.0), 6),
                method=method[:32],
                human_annotated=False,
                answers_count=0,
            )
            for item_id in ids
        )
        consolidated_classes_write(
            task_type=Job.objects.values_list("task_type", flat=True).get(pk=job_id),
            consolidated=stored,
            replace=False,
        )
        _count_labeled(job_id, len(ids))
    return ids


def machine_label_problem(*, job: Job, task_type: TaskType, machine: MachineLabel) -> str:
    """Why the job's task type refuses a model's label, or "" when it takes it.

    Models label jobs whose answer is one class (the value must hold what the task type's
    own consolidation writes for that class) or a set of classes; a value of another task
    type is refused until its task type can check it; box and mask values (issue 19) are
    checked by the task type's automated-labeling target.
    """
    value = machine.value
    labels = list(job.labels)
    if not isinstance(value, dict):
        return "the value is not a JSON object"
    try:
        if answers_one_class(task_type):
            expected = manager_label_parse(job=job, label=machine.label).value
            wrong = sorted(key for key, wanted in expected.items() if value.get(key) != wanted)
            if wrong:
                return f"the value {value!r} does not hold {expected!r} ({', '.join(wrong)})"
        elif getattr(task_type, "takes_model_judgments", False):  # issue 17: LLM types
            task_type.parse_answer(value, labels)
        elif getattr(task_type, "votes_by_class", False):
            parsed = task_type.parse_answer({"labels": value.get("labels")}, labels)
            chosen = task_type.chosen_labels(parsed.answer)
            if value.get("class_ids") != [labels.index(name) for name in chosen]:
                return f"class_ids {value.get('class_ids')!r} are not the labels {chosen!r}"
        elif auto_labeling_target(task_type.key) is not None:  # issue 19: boxes, masks
            return auto_labeling_target(task_type.key).value_problem(value, labels)
        else:
            return f"a {task_type.key} job takes no model labels"
    except AnswerProblem as exc:
        return str(exc)
    except ValidationFailed as exc:
        return exc.message
    return ""


def _checked(job_id: int, labels: Iterable[MachineLabel]) -> dict[int, MachineLabel]:
    """The labels the job's task type takes, by item id; the others are logged."""
    job = Job.objects.only("task_type", "labels").get(pk=job_id)
    task_type = get_task_type(job.task_type)
    labels = list(labels)
    judged = getattr(task_type, "takes_model_judgments", False)
    item_data = _item_data(job_id, [m.item_id for m in labels]) if judged else {}
    taken = {}
    for machine in labels:
        problem = machine_label_problem(job=job, task_type=task_type, machine=machine)
        if not problem and judged:
            try:
                machine = _judgment_label(task_type, job, machine, item_data)
            except (AnswerProblem, KeyError) as exc:
                problem = str(exc)
        if problem:
            logger.warning(
                "model label refused: job=%s item=%s: %s", job_id, machine.item_id, problem
            )
            continue
        taken[machine.item_id] = machine
    return taken


def _item_data(job_id: int, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = Item.objects.filter(job_id=job_id, pk__in=item_ids).values_list("pk", "data")
    return {pk: json.loads(data) for pk, data in rows}


def _judgment_label(
    task_type: TaskType, job: Job, machine: MachineLabel, item_data: dict[int, dict[str, Any]]
) -> MachineLabel:
    """A model's judgment on an LLM item (shaped as a worker's answer) as the label value the
    task type's consolidation writes for that one answer; the model's confidence stays."""
    labels = list(job.labels)
    data = item_data.get(machine.item_id)
    if data is None:
        raise KeyError(f"item {machine.item_id} is not in the job")
    answer = task_type.parse_answer(machine.value, labels).answer
    if hasattr(task_type, "check_answer_for_item"):
        task_type.check_answer_for_item(answer, data)
    result = task_type.consolidate_answers([answer], labels, item_data=data)
    return MachineLabel(machine.item_id, result.label, result.value, machine.confidence)


def items_unlabel_machine(*, job_id: int, item_ids: Iterable[int]) -> list[int]:
    """Take model labels back so the items return to the human queue; return those reopened.

    Human labels are never touched. Used by audits: the human answer then replaces the
    model's, which the caller keeps for the comparison.
    """
    with transaction.atomic():
        ids = list(
            ConsolidatedLabel.objects.select_for_update()
            .filter(job_id=job_id, item_id__in=list(item_ids), human_annotated=False)
            .values_list("item_id", flat=True)
        )
        if not ids:
            return []
        ConsolidatedLabel.objects.filter(item_id__in=ids, human_annotated=False).delete()
        Item.objects.filter(pk__in=ids, status=ItemStatus.LABELED).update(status=ItemStatus.OPEN)
        _count_labeled(job_id, -len(ids))
    return ids


def _count_labeled(job_id: int, delta: int) -> None:
    """The one place machine labels change a job's counters (inside the caller's transaction)."""
    job_counters_add(job_id=job_id, shard_key=0, items_labeled=delta, answers=0)
    if delta > 0:
        job_complete_if_done(job_id=job_id)
