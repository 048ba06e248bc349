"""Running a job's hooks over its items: pre-annotation (held items, a chunk per Celery task,
called by a thread pool) and consolidation (one item whose answers are complete).

The events and answers are the managed service's custom-workflow ones (docs/pipelines.md):

- pre-annotation ``{"version": "2018-10-16", "labelingJobArn", "dataObject": <the item's
  line>}`` → ``{"taskInput": {...}, "isHumanAnnotationRequired": "true" | "false"}``;
- consolidation ``{"version", "labelingJobArn", "labelAttributeName", "roleArn",
  "outputConfig", "payload": {"s3Uri": <signed URL>} | [<the document>]}`` →
  ``[{"datasetObjectId", "consolidatedAnnotation": {"content": {"<attr>": ...}}}]``.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction

from labeling.errors import Conflict, ValidationFailed
from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    HookCall,
    HookItem,
    HookItemStatus,
    HookKind,
    Item,
    Job,
    JobOutput,
)
from labeling.pipelines.services.hook_calls import HookOutcome, HookTarget, hook_invoke
from labeling.pipelines.services.hooks import job_hooks_of
from labeling.services.consolidation import item_label_store
from labeling.services.item_holds import items_leave, items_release
from labeling.services.manager_labels import manager_label_parse
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class

logger = logging.getLogger(__name__)

EVENT_VERSION = "2018-10-16"
PAYLOAD_SALT = "quorum.pipelines.hook-payload"
PRE_METHOD = "pre-annotation-hook"
CONSOLIDATION_METHOD = "consolidation-hook"
MAX_REASON_CHARS = 500  # HookItem.failure_reason


def job_arn(job: Job) -> str:
    """The job's ARN as the control plane names it (``labelingJobArn`` of every event)."""
    return f"{settings.QUORUM_ARN_PREFIX}:labeling-job/{job.name}"


# --- Pre-annotation --------------------------------------------------------------------------


@dataclass(frozen=True)
class PreResult:
    item_id: int
    outcome: HookOutcome
    task_input: Any = None
    human_required: bool = True


def _human_required(value: Any) -> bool | None:
    if value is None or value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    return None


def pre_answer_check(answer: Any) -> tuple[Any, bool]:
    """The taskInput and isHumanAnnotationRequired of a pre-annotation answer; ValueError
    naming what is wrong (a missing isHumanAnnotationRequired means "true")."""
    if not isinstance(answer, dict) or "taskInput" not in answer:
        raise ValueError("the answer is not an object with a taskInput")
    if not isinstance(answer["taskInput"], dict):
        raise ValueError("taskInput is not a JSON object")
    required = _human_required(answer.get("isHumanAnnotationRequired"))
    if required is None:
        raise ValueError('isHumanAnnotationRequired is neither "true" nor "false"')
    return answer["taskInput"], required


def _pre_one(target: HookTarget, arn: str, job_id: int, item_id: int, data: str) -> PreResult:
    event = {"version": EVENT_VERSION, "labelingJobArn": arn, "dataObject": json.loads(data)}
    outcome = hook_invoke(target, event, job_id=job_id, item_id=item_id, kind=HookKind.PRE)
    if not outcome.ok:
        return PreResult(item_id, outcome)
    try:
        task_input, required = pre_answer_check(outcome.answer)
    except ValueError as exc:
        outcome.fail(str(exc))
        return PreResult(item_id, outcome)
    return PreResult(item_id, outcome, task_input, required)


def pre_annotation_run(*, job_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Call the job's pre-annotation hook for its held items with ids in [first, last], at most
    ``QUORUM_HOOK_CONCURRENCY`` at once, and store every answer in one transaction: released
    to labelers, labeled or left out (no human needed), or failed with the reason. Idempotent:
    an item no longer held is skipped."""
    hooks = job_hooks_of(job_id)
    held = list(
        Item.objects.filter(
            job_id=job_id, pk__gte=first_id, pk__lte=last_id, status=ItemStatus.HELD
        ).values_list("pk", "data")
    )
    if not held:
        return {"released": 0, "no_human": 0, "failed": 0}
    if hooks is None or hooks.pre_hook is None:  # the hook was taken off: offer them as they are
        items_release(job_id=job_id, item_ids=[pk for pk, _ in held])
        return {"released": len(held), "no_human": 0, "failed": 0}
    job = Job.objects.only("name", "task_type", "labels", "label_attribute_name").get(pk=job_id)
    target = HookTarget.of(hooks.pre_hook)
    arn = job_arn(job)
    workers = max(1, min(settings.QUORUM_HOOK_CONCURRENCY, len(held)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hook") as pool:
        results = list(pool.map(lambda row: _pre_one(target, arn, job_id, *row), held))
    return _pre_store(job, results)


def _label_from_input(job: Job, task_input: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The label a no-human item's taskInput carries under the job's label attribute, when the
    task type can read it: one class (a label name, or an object with "label"), or any object
    for a custom task type. None otherwise."""
    if job.label_attribute_name not in task_input:
        return None
    value = task_input[job.label_attribute_name]
    task_type = get_task_type(job.task_type)
    if answers_one_class(task_type):
        name = value.get("label") if isinstance(value, dict) else value
        try:
            parsed = manager_label_parse(job=job, label=name)
        except ValidationFailed:
            return None
        return parsed.label, parsed.value
    if task_type.key == "custom" and isinstance(value, dict):
        return "", value
    return None


def _pre_store(job: Job, results: list[PreResult]) -> dict[str, int]:
    counts = {"released": 0, "no_human": 0, "labeled": 0, "failed": 0}
    with transaction.atomic():
        still_held = set(
            Item.objects.select_for_update()
            .filter(pk__in=[r.item_id for r in results], status=ItemStatus.HELD)
            .values_list("pk", flat=True)
        )
        mine = [r for r in results if r.item_id in still_held]
        HookItem.objects.bulk_create(
            [
                HookItem(
                    item_id=r.item_id,
                    job_id=job.pk,
                    pre_status=HookItemStatus.DONE if r.outcome.ok else HookItemStatus.FAILED,
                    task_input=r.task_input,
                    human_required=r.human_required,
                    failure_reason=""
                    if r.outcome.ok
                    else f"pre-annotation: {r.outcome.error}"[:MAX_REASON_CHARS],
                )
                for r in mine
            ],
            update_conflicts=True,
            unique_fields=["item"],
            update_fields=["pre_status", "task_input", "human_required", "failure_reason"],
        )
        HookCall.objects.bulk_create([call for r in results for call in r.outcome.calls])
        release = [r.item_id for r in mine if r.outcome.ok and r.human_required]
        failed = [r.item_id for r in mine if not r.outcome.ok]
        no_human = [r for r in mine if r.outcome.ok and not r.human_required]
        counts["released"] = items_release(job_id=job.pk, item_ids=release)
        if failed:
            counts["failed"] = items_leave(job_id=job.pk, item_ids=failed, status=ItemStatus.FAILED)
        left_out = []
        for result in no_human:
            label = _label_from_input(job, result.task_input)
            if label is None:
                left_out.append(result.item_id)
                continue
            item_label_store(
                item_id=result.item_id,
                job_id=job.pk,
                value=label[1],
                label=label[0],
                confidence=1.0,
                method=PRE_METHOD,
                human_annotated=False,
            )
            counts["labeled"] += 1
        if left_out:
            counts["no_human"] = items_leave(
                job_id=job.pk, item_ids=left_out, status=ItemStatus.NO_HUMAN
            )
    return counts


# --- Consolidation ---------------------------------------------------------------------------


def payload_token(*, job_id: int, item_ids: list[int]) -> str:
    return signing.TimestampSigner(salt=PAYLOAD_SALT).sign_object({"j": job_id, "i": item_ids})


def payload_token_read(token: str) -> tuple[int, list[int]]:
    """The job and items of a payload URL's token; signing.BadSignature (or its subclass
    SignatureExpired) when it is forged or older than QUORUM_HOOK_PAYLOAD_URL_SECONDS."""
    data = signing.TimestampSigner(salt=PAYLOAD_SALT).unsign_object(
        token, max_age=settings.QUORUM_HOOK_PAYLOAD_URL_SECONDS
    )
    return int(data["j"]), [int(pk) for pk in data["i"]]


def payload_url(*, job_id: int, item_ids: list[int]) -> str:
    path = f"/api/v1/hook-payloads/{payload_token(job_id=job_id, item_ids=item_ids)}"
    return settings.QUORUM_PUBLIC_URL.rstrip("/") + path


def payload_document(*, job_id: int, item_ids: list[int]) -> list[dict[str, Any]]:
    """The consolidation request's document: per item its line and every worker's answer (the
    answer as a JSON string under ``annotationData.content``)."""
    answers: dict[int, list[dict[str, Any]]] = {pk: [] for pk in item_ids}
    for item_id, worker_id, answer in (
        Annotation.objects.filter(job_id=job_id, item_id__in=item_ids)
        .order_by("item_id", "id")
        .values_list("item_id", "worker_id", "answer")
    ):
        answers[item_id].append(
            {
                "workerId": str(worker_id),
                "annotationData": {"content": json.dumps(answer, ensure_ascii=False)},
            }
        )
    lines = dict(Item.objects.filter(job_id=job_id, pk__in=item_ids).values_list("pk", "data"))
    return [
        {
            "datasetObjectId": str(pk),
            "dataObject": json.loads(lines[pk]),
            "annotations": answers[pk],
        }
        for pk in item_ids
        if pk in lines
    ]


def consolidation_event(*, job: Job, item_ids: list[int], inline: bool) -> dict[str, Any]:
    output = JobOutput.objects.filter(job_id=job.pk).values_list("prefix", flat=True).first()
    payload: Any = (
        payload_document(job_id=job.pk, item_ids=item_ids)
        if inline
        else {"s3Uri": payload_url(job_id=job.pk, item_ids=item_ids)}
    )
    return {
        "version": EVENT_VERSION,
        "labelingJobArn": job_arn(job),
        "labelAttributeName": job.label_attribute_name,
        "roleArn": "",
        "outputConfig": f"{output}/annotations/consolidated-annotation" if output else "",
        "payload": payload,
    }


def consolidation_answer_check(
    answer: Any, *, job: Job, item_id: int
) -> tuple[str, dict[str, Any], float]:
    """The (label, value, confidence) the consolidation answer gives the item (the confidence
    from ``content["<attr>-metadata"]["confidence"]``, else 1); ValueError naming what is
    wrong: not a list, an unknown datasetObjectId, the item missing, the attribute missing,
    or a value the job's task type does not take."""
    if not isinstance(answer, list):
        raise ValueError("the answer is not a list")
    found = None
    for entry in answer:
        if not isinstance(entry, dict) or "datasetObjectId" not in entry:
            raise ValueError("an entry of the answer has no datasetObjectId")
        if str(entry["datasetObjectId"]) != str(item_id):
            raise ValueError(f"unknown datasetObjectId {str(entry['datasetObjectId'])[:40]!r}")
        found = entry
    if found is None:
        raise ValueError(f"datasetObjectId {item_id} is missing from the answer")
    content = (found.get("consolidatedAnnotation") or {}).get("content")
    attribute = job.label_attribute_name
    if not isinstance(content, dict) or attribute not in content:
        raise ValueError(f"consolidatedAnnotation.content has no {attribute!r}")
    value = content[attribute]
    confidence = _metadata_confidence(content.get(f"{attribute}-metadata"))
    task_type = get_task_type(job.task_type)
    if answers_one_class(task_type):
        name = value.get("label") if isinstance(value, dict) else value
        try:
            parsed = manager_label_parse(job=job, label=name)
        except ValidationFailed as exc:
            raise ValueError(f"{attribute}: {exc.message}") from None
        return parsed.label, parsed.value, confidence
    if not isinstance(value, dict):
        raise ValueError(f"{attribute} is not a JSON object")
    label = value.get("label") if isinstance(value.get("label"), str) else ""
    return label, value, confidence


def _metadata_confidence(metadata: Any) -> float:
    """``<attr>-metadata.confidence`` when the hook gave one in [0, 1], else 1."""
    if isinstance(metadata, dict):
        confidence = metadata.get("confidence")
        if isinstance(confidence, int | float) and 0 <= confidence <= 1:
            return float(confidence)
    return 1.0


def consolidation_run(*, job_id: int, item_id: int) -> str:
    """Call the job's consolidation hook for an item whose answers are complete and store its
    label, or mark the item failed with the reason. Idempotent: "skipped" when the item is
    labeled, gone, or not waiting. Returns "labeled", "failed" or "skipped"."""
    hooks = job_hooks_of(job_id)
    item = Item.objects.filter(pk=item_id, job_id=job_id).only("status").first()
    if hooks is None or hooks.consolidation_hook is None or item is None:
        return "skipped"
    # LABELED without a label: a revision within the job's window took the label back.
    if (
        item.status not in (ItemStatus.OPEN, ItemStatus.LABELED)
        or ConsolidatedLabel.objects.filter(item_id=item_id).exists()
    ):
        return "skipped"
    job = Job.objects.only("name", "task_type", "labels", "label_attribute_name").get(pk=job_id)
    event = consolidation_event(job=job, item_ids=[item_id], inline=hooks.payload_inline)
    outcome = hook_invoke(
        HookTarget.of(hooks.consolidation_hook),
        event,
        job_id=job_id,
        item_id=item_id,
        kind=HookKind.CONSOLIDATION,
    )
    label: tuple[str, dict[str, Any], float] | None = None
    if outcome.ok:
        try:
            label = consolidation_answer_check(outcome.answer, job=job, item_id=item_id)
        except ValueError as exc:
            outcome.fail(str(exc))
    with transaction.atomic():
        HookCall.objects.bulk_create(outcome.calls)
        status = HookItemStatus.DONE if label is not None else HookItemStatus.FAILED
        HookItem.objects.update_or_create(
            item_id=item_id,
            defaults={
                "job_id": job_id,
                "consolidation_status": status,
                "failure_reason": ""
                if label
                else f"consolidation: {outcome.error}"[:MAX_REASON_CHARS],
            },
        )
        if label is None:
            items_leave(job_id=job_id, item_ids=[item_id], status=ItemStatus.FAILED)
            return "failed"
        try:
            item_label_store(
                item_id=item_id,
                job_id=job_id,
                value=label[1],
                label=label[0],
                confidence=label[2],
                method=CONSOLIDATION_METHOD,
            )
        except Conflict:  # labeled meanwhile (a manager's label): theirs stands
            transaction.set_rollback(True)
            return "skipped"
    return "labeled"
