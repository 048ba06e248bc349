"""Human loops: start (one or many), complete, fail, stop, delete; every move has a history row.

A loop is one item of its flow's backing job, an open-ended job. Starting a loop inserts the
item, the loop and its history row in the caller's transaction and counts the item in one of
the job's counter shards (``items_added``), so concurrent starts of one flow do not wait on
one row; the flow's quota of open loops is checked against the counts read before the insert.
"""

import json
import zlib
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone

from labeling.after_commit import on_commit_safely
from labeling.data.services.outputs import storage_write_enqueue
from labeling.data.storage import storage_join
from labeling.errors import Conflict, InvalidTransition, NotFound, QuorumError, ValidationFailed
from labeling.models import Annotation, Assignment, ConsolidatedLabel, Item, ItemText, Job
from labeling.selectors import job_progress
from labeling.services.counters import job_counters_add, job_counters_add_statement
from labeling.services.item_text import item_text_store
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem
from workflows.inference import TASK_TYPE_SOURCES, consolidated_answer
from workflows.models import Flow, HumanLoop, HumanLoopStatusChange
from workflows.services.feedback import dataset_add_reviewed
from workflows.services.flows import check_name
from workflows.services.loop_inputs import (
    check_content_classifiers,
    check_model_label,
    model_of_prediction,
    parse_input_content,
    prediction_in_content,
)
from workflows.services.webhooks import delivery_create
from workflows.states import (
    HUMAN_LOOP_DELETABLE,
    HUMAN_LOOP_TRANSITIONS,
    FlowStatus,
    HumanLoopStatus,
    WebhookEvent,
)
from workflows.states import can_transition as _can

SWEEP_BATCH_SIZE = 200
HUMAN_LOOP_FINISH_STOP_TASK = "workflows.human_loop_finish_stop"
# DataAttributes.ContentClassifiers of the managed runtime: a loop worked on by a crowd or a
# vendor must declare both.
# Whether one loop is started by one statement (PostgreSQL's data-modifying WITH).
_ONE_STATEMENT_START = connection.vendor == "postgresql"


class QuotaExceeded(QuorumError):
    status_code = 402
    code = "quota_exceeded"


@dataclass(frozen=True)
class LoopSpec:
    """What one new loop needs: its name, the input content as received, the model's answer."""

    name: str
    input_content: str
    content: Any  # the parsed input content
    model_label: str = ""
    model_confidence: float | None = None
    content_classifiers: tuple[str, ...] = ()
    model_name: str = ""
    model_version: str = ""
    route_reason: str = ""
    predicted_at: datetime | None = None


def _item_data(flow: Flow, job: Job, spec: LoopSpec) -> str:
    """The item's JSON line: what the reviewer sees, the model's prediction, the loop's name."""
    task_type = get_task_type(job.task_type)
    content = spec.content
    if getattr(task_type, "line_is_input", False) and isinstance(content, dict):
        # The built-in reviews (workflows/services/builtin_loops.py) build the line itself.
        line = dict(content)
    else:
        line = _shown_line(flow, task_type, content)
    try:
        task_type.check_source(line)
    except SourceProblem as exc:
        raise ValidationFailed(
            f"loop {spec.name}: {exc}", details={"field": "input", "loop": spec.name}
        ) from None
    line["quorum-human-loop"] = spec.name
    check_model_label(labels=job.labels, label=spec.model_label, where=f"loop {spec.name}")
    if spec.model_label or spec.model_confidence is not None:
        line["prediction"] = {"label": spec.model_label, "confidence": spec.model_confidence}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def _shown_line(flow: Flow, task_type: Any, content: Any) -> dict[str, Any]:
    if isinstance(content, dict) and flow.source_key in content:
        shown = content[flow.source_key]
    elif isinstance(content, str):
        shown = content
    else:
        shown = json.dumps(content, ensure_ascii=False)
    fields = getattr(task_type, "item_fields", ())
    if fields and isinstance(content, dict):  # issue 17: an LLM item is an object
        source = shown if isinstance(shown, dict) else content
        return {field: source[field] for field in fields if field in source}
    key = "source-ref" if task_type.media == "image" else "source"
    return {key: shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)}


def open_loops(*, flow: Flow) -> int:
    """The flow's loops whose item is still to label: the backing job's items less its
    labeled ones, from its counters."""
    progress = job_progress(job_id=flow.job_id)
    return progress.items_total - progress.items_labeled if progress else 0


def _check_quota(flow: Flow, count: int, open_now: int) -> None:
    limit = settings.QUORUM_MAX_OPEN_LOOPS_PER_FLOW
    if open_now + count > limit:
        raise QuotaExceeded(
            f"flow {flow.name} has {limit} open loops or would exceed them; "
            "wait for some to finish",
            details={"limit": limit},
        )


def human_loops_create(
    *, flow: Flow, specs: Sequence[LoopSpec], open_now: int | None = None
) -> list[HumanLoop]:
    """Start loops for ``specs`` (inside the caller's transaction, which must roll back on
    any error raised here), items and loops in bulk. On PostgreSQL a single loop is written
    by one statement, atomic by itself, so that caller needs no transaction.

    ``open_now`` is the flow's open loops if the caller read them with the flow; the quota
    is checked against that read, so concurrent starts may pass it by their number.
    """
    if not specs:
        return []
    if flow.status != FlowStatus.ACTIVE:
        raise Conflict(f"flow {flow.name} is inactive: it starts no loops", code="flow_inactive")
    _check_quota(flow, len(specs), open_loops(flow=flow) if open_now is None else open_now)
    job = flow.job
    now = timezone.now()
    expires = now + timedelta(seconds=flow.loop_lifetime_seconds)
    items = [Item(job_id=job.pk, data=_item_data(flow, job, spec)) for spec in specs]
    loops = [
        HumanLoop(
            flow=flow,
            name=spec.name,
            input_content=spec.input_content,
            model_label=spec.model_label,
            model_confidence=spec.model_confidence,
            content_classifiers=list(spec.content_classifiers),
            model_name=spec.model_name,
            model_version=spec.model_version,
            route_reason=spec.route_reason,
            predicted_at=spec.predicted_at or now,
            created_at=now,
            expires_at=expires,
        )
        for spec in specs
    ]
    try:
        # No savepoint: a clash aborts the caller's transaction, which the Conflict rolls back.
        if _ONE_STATEMENT_START and len(specs) == 1:
            _insert_one_postgres(items[0], loops[0], shard_key=zlib.crc32(specs[0].name.encode()))
            return loops
        _insert_many(items, loops)
    except IntegrityError:
        names = [spec.name for spec in specs]
        label = names[0] if len(names) == 1 else f"one of {len(names)} names"
        raise Conflict(
            f"a human loop named {label} exists already",
            code="duplicate_name",
            details={"names": names[:100]},
        ) from None
    # Last: the shard row stays locked to the commit; batches spread over the shards by loop.
    job_counters_add(
        job_id=job.pk, shard_key=loops[0].pk, items_labeled=0, answers=0, items_added=len(specs)
    )
    return loops


def _insert_many(items: list[Item], loops: list[HumanLoop]) -> None:
    """Items, loops and their first history rows, in bulk (three statements)."""
    Item.objects.bulk_create(items)
    item_text_store(
        job_id=items[0].job_id,
        first_item_id=min(item.pk for item in items),
        last_item_id=max(item.pk for item in items),
    )
    for loop, item in zip(loops, items, strict=True):
        loop.item = item
    HumanLoop.objects.bulk_create(loops)
    if connection.vendor != "postgresql" or any(loop.pk is None for loop in loops):
        by_name = dict(
            HumanLoop.objects.filter(name__in=[loop.name for loop in loops]).values_list(
                "name", "pk"
            )
        )
        for loop in loops:
            loop.pk = by_name[loop.name]
    HumanLoopStatusChange.objects.bulk_create(
        [
            HumanLoopStatusChange(loop_id=loop.pk, to_status=HumanLoopStatus.IN_PROGRESS)
            for loop in loops
        ]
    )


def _insert_values(
    row: Model, linked: dict[str, str], db: BaseDatabaseWrapper
) -> tuple[str, str, list[Any]]:
    """The columns, VALUES expressions and parameters that insert ``row`` as the ORM would
    (defaults and auto_now_add applied); a column in ``linked`` takes the SQL given there."""
    fields = [field for field in row._meta.concrete_fields if not field.primary_key]
    values, params = [], []
    for field in fields:
        if field.column in linked:
            values.append(linked[field.column])
            continue
        value = field.pre_save(row, add=True)
        if isinstance(value, DatabaseDefault):
            values.append("DEFAULT")
            continue
        values.append("%s")
        params.append(field.get_db_prep_save(value, db))
    columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
    return columns, ", ".join(values), params


_START_ONE = """
WITH new_item AS (
    INSERT INTO {item_table} ({item_columns}) VALUES ({item_values}) RETURNING id, data
), new_text AS (
    INSERT INTO {text_table} (item_id, text) SELECT id, data FROM new_item
), new_loop AS (
    INSERT INTO {loop_table} ({loop_columns}) VALUES ({loop_values}) RETURNING id, item_id
), new_change AS (
    INSERT INTO {change_table} ({change_columns}) VALUES ({change_values})
), counted AS (
    {count}
)
SELECT id, item_id FROM new_loop
"""


def _insert_one_postgres(item: Item, loop: HumanLoop, *, shard_key: int) -> None:
    """The item, the loop, its first history row and the item's count in the job's counter
    shard of ``shard_key``, in one statement: atomic without a transaction of its own, one
    round trip, and no ORM compiling on the runtime API's hottest path. Columns come from
    the models."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the proxy costs a lookup
    change = HumanLoopStatusChange(to_status=HumanLoopStatus.IN_PROGRESS)
    item_columns, item_values, item_params = _insert_values(item, {}, db)
    loop_columns, loop_values, loop_params = _insert_values(
        loop, {"item_id": "(SELECT id FROM new_item)"}, db
    )
    change_columns, change_values, change_params = _insert_values(
        change, {"loop_id": "(SELECT id FROM new_loop)"}, db
    )
    count_sql, count_params = job_counters_add_statement(
        job_id=item.job_id, shard_key=shard_key, items_labeled=0, answers=0, items_added=1
    )
    sql = _START_ONE.format(
        item_table=Item._meta.db_table,
        text_table=ItemText._meta.db_table,
        item_columns=item_columns,
        item_values=item_values,
        loop_table=HumanLoop._meta.db_table,
        loop_columns=loop_columns,
        loop_values=loop_values,
        change_table=HumanLoopStatusChange._meta.db_table,
        change_columns=change_columns,
        change_values=change_values,
        count=count_sql,
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [*item_params, *loop_params, *change_params, *count_params])
        loop.pk, loop.item_id = cursor.fetchone()
    item.pk = loop.item_id
    loop._state.adding = item._state.adding = False


def human_loop_start(
    *,
    flow: Flow,
    name: str,
    input_content: str,
    model_label: str = "",
    model_confidence: float | None = None,
    content_classifiers: Sequence[str] | None = None,
    open_now: int | None = None,
    model_name: str = "",
    model_version: str = "",
) -> HumanLoop:
    """Start one loop on ``flow`` whatever its conditions (the runtime API's StartHumanLoop).

    Without ``model_label`` and ``model_confidence``, the model's prediction is the input
    content's "prediction" object, if any; its label must be one of the flow's labels.

    ``flow.team.kind`` decides whether ``content_classifiers`` must declare the content free
    of personal data and adult content (see ``check_content_classifiers``).
    """
    check_name(name, field="HumanLoopName")
    classifiers = check_content_classifiers(flow=flow, classifiers=content_classifiers)
    content = parse_input_content(input_content)
    if not model_label and model_confidence is None:
        model_label, model_confidence = prediction_in_content(content)
    if not model_name and not model_version and isinstance(content, dict):
        model_name, model_version = model_of_prediction(content.get("prediction"))
    spec = LoopSpec(
        name,
        input_content,
        content,
        model_label,
        model_confidence,
        tuple(classifiers),
        model_name=model_name,
        model_version=model_version,
    )
    # On PostgreSQL one loop is written by one statement, atomic by itself.
    with nullcontext() if _ONE_STATEMENT_START else transaction.atomic():
        (loop,) = human_loops_create(flow=flow, specs=[spec], open_now=open_now)
    return loop


def _transition(loop: HumanLoop, to: str, *, reason: str = "", **fields: Any) -> HumanLoop:
    """Move ``loop`` to ``to`` if allowed and nobody moved it first (inside a transaction)."""
    old = loop.status
    if not _can(HUMAN_LOOP_TRANSITIONS, old, to):
        raise InvalidTransition(
            f"a loop that is {old} cannot become {to}", details={"from": old, "to": to}
        )
    moved = HumanLoop.objects.filter(pk=loop.pk, status=old).update(status=to, **fields)
    if moved != 1:
        loop.refresh_from_db(fields=["status"])
        raise InvalidTransition(
            f"the loop changed status meanwhile; it is now {loop.status}",
            details={"from": loop.status, "to": to},
        )
    HumanLoopStatusChange.objects.create(
        loop_id=loop.pk, from_status=old, to_status=to, reason=reason[:300]
    )
    loop.status = to
    for key, value in fields.items():
        setattr(loop, key, value)
    return loop


def _lock_loop(**lookup: Any) -> HumanLoop | None:
    return (
        HumanLoop.objects.select_for_update(of=("self",))
        .select_related("flow")
        .filter(**lookup)
        .first()
    )


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def output_document(loop: HumanLoop, consolidated: ConsolidatedLabel | None) -> dict[str, Any]:
    """Every worker's answer, the consolidated one, and the input content as received."""
    answers = (
        Annotation.objects.filter(item_id=loop.item_id).order_by("id")
        if loop.item_id
        else Annotation.objects.none()
    )
    document = {
        "humanLoopName": loop.name,
        "flowDefinitionArn": flow_arn(loop.flow),
        "creationTime": _iso(loop.created_at),
        "humanAnswers": [
            {
                "answerContent": answer.answer,
                "workerId": f"quorum-worker-{answer.worker_id}",
                "acceptanceTime": _iso(answer.accepted_at),
                "submissionTime": _iso(answer.submitted_at),
                "timeSpentInSeconds": answer.time_spent_seconds,
            }
            for answer in answers
        ],
        "consolidatedAnswer": None
        if consolidated is None
        else {
            "label": consolidated.label,
            "confidence": consolidated.confidence,
            "method": consolidated.method,
            "answerCount": consolidated.answers_count,
        },
        "modelPrediction": {"label": loop.model_label, "confidence": loop.model_confidence},
        "inputContent": json.loads(loop.input_content),
    }
    # The built-in reviews (docs/review-loops.md): the request source, and the consolidated
    # answer in the documented answer shape too.
    task_type = Job.objects.filter(pk=loop.flow.job_id).values_list("task_type", flat=True).first()
    source = TASK_TYPE_SOURCES.get(task_type or "")
    if source:
        document["awsManagedHumanLoopRequestSource"] = source
        if consolidated is not None:
            document["consolidatedAnswer"].update(consolidated_answer(source, consolidated.value))
    return document


def flow_arn(flow: Flow) -> str:
    return f"{settings.QUORUM_ARN_PREFIX}:flow-definition/{flow.name}"


def loop_arn(loop: HumanLoop) -> str:
    return f"{settings.QUORUM_ARN_PREFIX}:human-loop/{loop.name}"


def loop_output_uri(loop: HumanLoop) -> str:
    """Where a loop of a flow with an ``s3://`` S3OutputPath has its output document ("" for
    a flow without one): ``<path>/<flow>/YYYY/MM/DD/hh/mm/ss/<loop>/output.json``, the time
    being the loop's creation, as the managed service named it."""
    path = loop.flow.output_path
    if not path.startswith("s3://"):
        return ""
    moment = loop.created_at.astimezone(UTC).strftime("%Y/%m/%d/%H/%M/%S")
    return storage_join(path, loop.flow.name, moment, loop.name, "output.json")


def human_loop_complete(*, item_id: int) -> HumanLoop | None:
    """Complete the in-progress loop of a consolidated item; None when there is nothing to do."""
    with transaction.atomic():
        loop = _lock_loop(item_id=item_id)
        if loop is None or loop.status != HumanLoopStatus.IN_PROGRESS:
            return None
        consolidated = ConsolidatedLabel.objects.filter(item_id=item_id).first()
        if consolidated is None:
            return None
        output = output_document(loop, consolidated)
        agrees = (consolidated.label == loop.model_label) if loop.model_label else None
        _transition(
            loop,
            HumanLoopStatus.COMPLETED,
            reason=f"{consolidated.answers_count} answer(s) consolidated",
            completed_at=timezone.now(),
            output=output,
            human_label=consolidated.label,
            agrees=agrees,
        )
        dataset_add_reviewed(loop=loop, consolidated=consolidated)
        delivery_create(loop=loop, event=WebhookEvent.COMPLETED, output=output)
        uri = loop_output_uri(loop)
        if uri:  # in the same transaction: written by Celery, retried until the store takes it
            storage_write_enqueue(uri=uri, body=json.dumps(output, ensure_ascii=False).encode())
    return loop


def _withdraw_item(loop: HumanLoop) -> bool:
    """Take an unlabeled loop's item out of the pool for good (inside a transaction).

    Locks the item's leases before the item, in the order a submit locks them, then deletes
    the item with its leases and answers. False when the item got its label meanwhile.
    """
    if loop.item_id is None:
        return True
    list(Assignment.objects.select_for_update().filter(item_id=loop.item_id).values_list("pk"))
    item = Item.objects.select_for_update().filter(pk=loop.item_id).only("id", "status").first()
    if item is None:
        return True
    if item.status != ItemStatus.OPEN:
        return False
    Item.objects.filter(pk=item.pk).delete()
    job_counters_add(
        job_id=loop.flow.job_id, shard_key=loop.pk, items_labeled=0, answers=0, items_added=-1
    )
    loop.item_id = None
    return True


def human_loop_stop(*, loop: HumanLoop) -> HumanLoop:
    """Stop an in-progress loop: its item leaves the pool at once (unless it was labeled
    meanwhile), and a Celery task (or the sweep) moves it on to Stopped and sends the webhook."""
    with transaction.atomic():
        locked = _lock_loop(pk=loop.pk)
        if locked is None:
            raise NotFound(f"there is no human loop {loop.name}")
        if locked.status != HumanLoopStatus.IN_PROGRESS:
            raise InvalidTransition(
                f"human loop {loop.name} is {locked.status}: only an InProgress loop stops",
                details={"status": locked.status},
            )
        # The item leaves the pool now, so no one is offered the loop once it is stopping.
        _withdraw_item(locked)
        _transition(
            locked, HumanLoopStatus.STOPPING, reason="stop requested", item_id=locked.item_id
        )
        # By name: the task module imports this one.
        finish = current_app.signature(HUMAN_LOOP_FINISH_STOP_TASK, args=(locked.pk,))
        # Lost if the broker is down: the sweep finishes Stopping loops (human_loops_sweep).
        on_commit_safely(finish.delay, what=f"finishing the stop of loop {locked.pk}")
    return locked


def human_loop_finish_stop(*, loop_id: int) -> HumanLoop | None:
    """Stopping → Stopped: its item leaves the pool. Idempotent."""
    with transaction.atomic():
        loop = _lock_loop(pk=loop_id)
        if loop is None or loop.status != HumanLoopStatus.STOPPING:
            return None
        _withdraw_item(loop)
        _transition(
            loop,
            HumanLoopStatus.STOPPED,
            reason="stopped",
            completed_at=timezone.now(),
            item_id=loop.item_id,
        )
        delivery_create(loop=loop, event=WebhookEvent.STOPPED, output=None)
    return loop


def human_loop_fail(*, loop_id: int, reason: str, code: str) -> HumanLoop | None:
    with transaction.atomic():
        loop = _lock_loop(pk=loop_id)
        if loop is None or loop.status != HumanLoopStatus.IN_PROGRESS:
            return None
        if not _withdraw_item(loop):
            return None  # labeled meanwhile: it completes instead
        _transition(
            loop,
            HumanLoopStatus.FAILED,
            reason=reason,
            failure_reason=reason[:1024],
            failure_code=code,
            completed_at=timezone.now(),
            item_id=loop.item_id,
        )
        delivery_create(loop=loop, event=WebhookEvent.FAILED, output=None)
    return loop


def human_loop_delete(*, loop: HumanLoop) -> None:
    """Delete an ended loop (its reviewed item stays in the flow's job and dataset)."""
    with transaction.atomic():
        locked = _lock_loop(pk=loop.pk)
        if locked is None:
            raise NotFound(f"there is no human loop {loop.name}")
        if locked.status not in HUMAN_LOOP_DELETABLE:
            raise InvalidTransition(
                f"human loop {loop.name} is {locked.status}: stop it before deleting it",
                details={"status": locked.status},
            )
        locked.delete()


def human_loops_sweep(*, now=None) -> dict[str, int]:
    """Periodic repairs: fail loops past their lifetime, complete loops whose item got its
    label while no event reached us, and finish stops whose task was lost."""
    now = now or timezone.now()
    failed = completed = stopped = 0
    expired = list(
        HumanLoop.objects.filter(status=HumanLoopStatus.IN_PROGRESS, expires_at__lte=now)
        .select_related("flow")
        .order_by("expires_at")
        .values_list("pk", "item_id", "flow__loop_lifetime_seconds")[:SWEEP_BATCH_SIZE]
    )
    for loop_id, item_id, lifetime in expired:
        if item_id and human_loop_complete(item_id=item_id):
            completed += 1
            continue
        failed += bool(
            human_loop_fail(
                loop_id=loop_id,
                reason=f"its workers did not finish within its lifetime of {lifetime} seconds",
                code="LifetimeExceeded",
            )
        )
    labeled = HumanLoop.objects.filter(
        status=HumanLoopStatus.IN_PROGRESS, item__status=ItemStatus.LABELED
    ).values_list("item_id", flat=True)[:SWEEP_BATCH_SIZE]
    for item_id in list(labeled):
        completed += bool(human_loop_complete(item_id=item_id))
    stale = HumanLoop.objects.filter(status=HumanLoopStatus.STOPPING).values_list("pk", flat=True)
    for loop_id in list(stale[:SWEEP_BATCH_SIZE]):
        stopped += bool(human_loop_finish_stop(loop_id=loop_id))
    return {"failed": failed, "completed": completed, "stopped": stopped}
