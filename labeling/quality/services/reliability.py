"""Worker reliability and consolidation by the job's method: re-estimation, scoring, overlap.

The EM run over a whole job happens only in the Celery task ``labeling.quality_reestimate``
(debounced: many answers, one run), which computes everything in memory and then writes the
new estimates in one transaction, so readers see the previous estimates until then. A submit
only scores the one item it completes, with the stored estimates (no EM in a request).
"""

import json
import time
from dataclasses import dataclass

import numpy as np
from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Value, When

from labeling.after_commit import on_commit_safely
from labeling.consolidation.base import MISSING
from labeling.consolidation.dawid_skene import (
    EM_MIN_OVERLAPPING_ANSWERS,
    WarmStart,
    dawid_skene,
    vote_counts,
)
from labeling.consolidation.multilabel_em import LabelReliability, multilabel_dawid_skene
from labeling.errors import NotFound, ValidationFailed
from labeling.events import item_consolidated, publish_on_commit
from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    ConsolidationMethod,
    Item,
    Job,
    JobQualityEstimate,
    User,
    WorkerQuality,
)
from labeling.quality.math.adaptive import default_confusion
from labeling.quality.math.agreement import (
    fleiss_kappa,
    krippendorff_alpha_nominal,
    per_label_agreement,
    per_worker_agreement,
)
from labeling.quality.services.reliability_multilabel import (
    LabelAnswers,
    answer_reliability,
    multilabel_agreement,
    multilabel_gather,
    multilabel_previous,
    multilabel_relabels,
    multilabel_store_workers,
)
from labeling.quality.services.reliability_shapes import shapes_reestimate, shapes_weighted
from labeling.quality.services.store import (
    CONFIDENCE_REWRITE_TOLERANCE,
    UPDATE_BATCH_SIZE,
    store_estimate,
    store_workers,
)
from labeling.services.counters import job_counters_add
from labeling.services.item_events import item_event_record, label_snapshot
from labeling.services.jobs import check_personal_data_rule, job_complete_if_done
from labeling.services.label_classes import (
    consolidated_classes_refresh,
    consolidated_classes_write,
)
from labeling.services.manager_labels import manager_label_parse
from labeling.states import ItemStatus
from labeling.task_types import get_task_type

REESTIMATE_TASK = "labeling.quality_reestimate"
# EM_MIN_OVERLAPPING_ANSWERS (from dawid_skene.py, where the benches read it too): "auto"
# runs majority vote below that many answers on items with two or more answers.
REESTIMATE_DEBOUNCE_SECONDS = 5
GATHER_CHUNK = 20_000
# Labels no re-estimation may change: known answers, a manager's final word, a reviewer's fix
# (and, by their review status, labels a reviewer accepted: issue 14).
FIXED_METHODS = ("gold", "manual", "review")
REVIEWED_STATUSES = ("accepted", "fixed")
EM_METHODS = (ConsolidationMethod.DAWID_SKENE, ConsolidationMethod.ONE_COIN)


# Issue 20: a run reads every answer of the job, so its cost grows with the job; one run per
# debounce window made re-estimation of a big job take a whole Celery core and steady reads
# of the database (2-5 s runs, back to back, on a 100k-item job in bench/claim.py). After a
# run that took T seconds, the next may start REESTIMATE_COOLDOWN_FACTOR x T later: at most
# about a tenth of a worker's time, whatever the size of the job. Small jobs (T under half a
# second) are not slowed; the quality sweep still picks up answers left after the last run.
REESTIMATE_COOLDOWN_FACTOR = 9


def _debounce_key(job_id: int) -> str:
    return f"quality:reestimate:{job_id}"


def _cooldown_key(job_id: int) -> str:
    return f"quality:reestimate:until:{job_id}"


def quality_reestimate_paced(
    *, job_id: int, eager: bool = False
) -> tuple[JobQualityEstimate | None, float]:
    """Run the job's re-estimation unless its previous run's cooldown is not over; then the
    run is put off to the cooldown's end (still one waiting run per job, the debounce key
    held until then). Returns (the estimate or None, seconds put off)."""
    until = cache.get(_cooldown_key(job_id))
    wait = max(0.0, until - time.time()) if until else 0.0
    if wait > 0 and not eager:
        cache.set(_debounce_key(job_id), 1, timeout=int(wait) + REESTIMATE_DEBOUNCE_SECONDS * 20)
        current_app.signature(REESTIMATE_TASK, args=(job_id,)).apply_async(countdown=wait)
        return None, wait
    started = time.perf_counter()
    estimate = job_quality_reestimate(job_id=job_id)
    cooldown = REESTIMATE_COOLDOWN_FACTOR * (time.perf_counter() - started)
    if cooldown > REESTIMATE_DEBOUNCE_SECONDS:
        cache.set(_cooldown_key(job_id), time.time() + cooldown, timeout=int(cooldown) + 60)
    return estimate, 0.0


def quality_request_reestimate(*, job_id: int) -> None:
    """After commit, enqueue one re-estimation of the job unless one is already waiting."""

    def enqueue_once() -> None:
        if cache.add(_debounce_key(job_id), 1, timeout=REESTIMATE_DEBOUNCE_SECONDS * 20):
            # By name: the task module imports this one, never the other way.
            current_app.signature(REESTIMATE_TASK, args=(job_id,)).apply_async(
                countdown=REESTIMATE_DEBOUNCE_SECONDS
            )

    # Never fails the submit: if Redis is down, the periodic sweep asks again.
    on_commit_safely(enqueue_once, what=f"asking for a re-estimation of job {job_id}")


@dataclass(frozen=True)
class _Answers:
    items: np.ndarray  # dense item index per answer
    workers: np.ndarray  # dense worker index per answer
    answers: np.ndarray  # class index per answer
    item_ids: np.ndarray  # dense index -> Item id
    worker_ids: np.ndarray  # dense index -> User id


def _gather(job: Job) -> _Answers:
    """Every classification answer of the job, gold items and excluded workers left out.

    The class index is computed in SQL, so only integers cross to Python: a 1M-answer job
    is three integer columns, read in chunks straight into numpy.
    """
    class_of = Case(
        *(When(label=label, then=Value(index)) for index, label in enumerate(job.labels)),
        default=Value(MISSING),
        output_field=IntegerField(),
    )
    rows = Annotation.objects.filter(job_id=job.pk).exclude(label="")
    rows = rows.exclude(item__gold__isnull=False)
    if job.exclude_paused_answers:
        paused = WorkerQuality.objects.filter(job_id=job.pk, paused=True).values("worker_id")
        rows = rows.exclude(worker_id__in=paused)
    rows = rows.annotate(class_index=class_of).values_list("item_id", "worker_id", "class_index")
    chunks = []
    batch: list[tuple[int, int, int]] = []
    for row in rows.iterator(GATHER_CHUNK):
        batch.append(row)
        if len(batch) == GATHER_CHUNK:
            chunks.append(np.array(batch, dtype=np.int64))
            batch = []
    if batch:
        chunks.append(np.array(batch, dtype=np.int64))
    triples = np.concatenate(chunks) if chunks else np.zeros((0, 3), dtype=np.int64)
    triples = triples[triples[:, 2] != MISSING]
    item_ids, items = np.unique(triples[:, 0], return_inverse=True)
    worker_ids, workers = np.unique(triples[:, 1], return_inverse=True)
    return _Answers(items, workers, triples[:, 2].copy(), item_ids, worker_ids)


def method_for(job: Job, overlapping_answers: int) -> str:
    if job.consolidation_method != ConsolidationMethod.AUTO:
        return job.consolidation_method
    if overlapping_answers >= EM_MIN_OVERLAPPING_ANSWERS:
        return ConsolidationMethod.DAWID_SKENE
    return ConsolidationMethod.MAJORITY


def job_quality_reestimate(*, job_id: int) -> JobQualityEstimate | None:
    """Re-run EM over the job, store worker estimates and agreement, re-consolidate labels."""
    cache.delete(_debounce_key(job_id))  # answers from now on ask for a fresh run
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    started = time.perf_counter()
    kind = get_task_type(job.task_type)
    if getattr(kind, "votes_by_class", False):
        return _reestimate_multilabel(job, kind, started)
    if shapes_weighted(kind):  # issue 19: drawing and span types, leave-one-out reliability
        return shapes_reestimate(job, kind, started)
    data = _gather(job)
    n_items, n_workers, n_classes = len(data.item_ids), len(data.worker_ids), len(job.labels)
    per_item = np.bincount(data.items, minlength=n_items)
    overlapping = int(per_item[per_item >= 2].sum())
    method = method_for(job, overlapping)
    start = _previous_estimates(job.pk, data.worker_ids, n_classes)
    result = dawid_skene(
        data.items,
        data.workers,
        data.answers,
        n_items=n_items,
        n_workers=n_workers,
        n_classes=n_classes,
        one_coin=method == ConsolidationMethod.ONE_COIN,
        start=start,
    )
    if method == ConsolidationMethod.MAJORITY:
        counts = vote_counts(data.items, data.answers, n_items, n_classes)
        winners = counts.argmax(axis=1) if n_items else np.zeros(0, dtype=np.int64)
        confidence = counts.max(axis=1) / np.maximum(counts.sum(axis=1), 1)
    else:
        winners, confidence = result.labels, result.confidence
    agreement = per_worker_agreement(
        data.items, data.workers, data.answers, winners, n_workers=n_workers
    )
    shape = {"n_items": n_items, "n_classes": n_classes}
    alpha = krippendorff_alpha_nominal(data.items, data.answers, **shape)
    kappa = fleiss_kappa(data.items, data.answers, **shape)
    per_label = per_label_agreement(data.items, data.answers, **shape)
    # One short transaction; the worker rows (which a gold answer may update) go last.
    # Two runs of one job (a new request can start while a long one writes) take turns on
    # the job's row, so their label rewrites never interleave and deadlock.
    with transaction.atomic():
        # NO KEY: a plain FOR UPDATE would also block every submit's foreign-key check on
        # the job row (KEY SHARE at its commit) for as long as the rewrite runs.
        Job.objects.select_for_update(no_key=True).filter(pk=job_id).values_list("pk").first()
        changed = _reconsolidate(job, data, winners, confidence, method)
        estimate = store_estimate(
            job,
            method=method,
            priors=result.priors,
            answers_used=len(data.answers),
            per_item=per_item,
            workers=n_workers,
            alpha=alpha,
            kappa=kappa,
            per_label=per_label,
            labels_changed=changed,
            iterations=result.iterations,
            warm_start=start is not None,
            started=started,
        )
        store_workers(
            job,
            data.worker_ids,
            answered=np.bincount(data.workers, minlength=len(data.worker_ids)),
            accuracy=result.worker_accuracy(),
            agreement=agreement.share,
            per_worker={"confusion": np.round(result.confusions, 6).tolist()},
        )
    return estimate


def _previous_estimates(job_id: int, worker_ids: np.ndarray, n_classes: int) -> WarmStart | None:
    """The stored confusion matrices and priors as EM's starting point (a worker new since
    the last run starts as the default worker); None before the first run."""
    priors = JobQualityEstimate.objects.filter(job_id=job_id).values_list("priors", flat=True)
    priors = next(iter(priors), None) or []
    stored = dict(
        WorkerQuality.objects.filter(job_id=job_id).exclude(confusion=[])
        .values_list("worker_id", "confusion")
    )  # fmt: skip
    if len(priors) != n_classes or not stored:
        return None
    confusions = np.repeat(default_confusion(n_classes)[None], len(worker_ids), axis=0)
    for row, worker_id in enumerate(worker_ids.tolist()):
        matrix = stored.get(worker_id)
        if matrix is not None and len(matrix) == n_classes:
            confusions[row] = matrix
    return WarmStart(confusions, np.array(priors, dtype=np.float64))


def _reestimate_multilabel(job: Job, kind, started: float) -> JobQualityEstimate:
    """The multi-label re-estimation: every label a yes/no question, per-label EM."""
    data = multilabel_gather(job, kind)
    n_items, n_workers, n_labels = len(data.item_ids), len(data.worker_ids), len(job.labels)
    per_item = np.bincount(data.items, minlength=n_items)
    method = method_for(job, int(per_item[per_item >= 2].sum()))
    start = multilabel_previous(job.pk, data.worker_ids, n_labels)
    result = multilabel_dawid_skene(
        data.items, data.workers, data.chosen, n_items=n_items, n_workers=n_workers, start=start
    )
    em = method in EM_METHODS
    agreement = multilabel_agreement(data, result.selected)
    per_label = _multilabel_per_label(data, n_items)
    with transaction.atomic():
        Job.objects.select_for_update(no_key=True).filter(pk=job.pk).values_list("pk").first()
        changed = 0
        if em:
            relabeled = multilabel_relabels(job, kind, data, result.posteriors, FIXED_METHODS)
            changed = _write_labels(relabeled)
            consolidated_classes_refresh(
                task_type=job.task_type, consolidated_ids=[row[0] for row in relabeled]
            )
        estimate = store_estimate(
            job,
            method=method,
            priors=result.reliability.priors,
            answers_used=len(data.items),
            per_item=per_item,
            workers=n_workers,
            alpha=np.nan,
            kappa=np.nan,
            per_label=per_label,
            labels_changed=changed,
            iterations=result.iterations,
            warm_start=start is not None,
            started=started,
        )
        multilabel_store_workers(job, data, result, agreement)
    return estimate


def _multilabel_per_label(data: LabelAnswers, n_items: int) -> list[float]:
    """Per label, of the pairs of answers on an item where one says yes, the share where
    both do (the single-label per-label agreement, with the label as a yes/no question)."""
    return [
        float(per_label_agreement(data.items, data.chosen[:, label].astype(np.int64),
                                  n_items=n_items, n_classes=2)[1])
        for label in range(data.chosen.shape[1])
    ]  # fmt: skip


# Rewrite many labels in one statement per batch; a label a manager set meanwhile is kept.
_UPDATE_LABELS = """
WITH new (id, label, value, confidence, method) AS (VALUES {rows})
UPDATE labeling_consolidatedlabel SET label = new.label, value = {value},
    confidence = {confidence}, method = new.method
FROM new WHERE labeling_consolidatedlabel.id = {id}
  AND labeling_consolidatedlabel.method NOT IN ('gold', 'manual', 'review')
  AND labeling_consolidatedlabel.review_status NOT IN ('accepted', 'fixed')
"""
_CASTS = {
    "postgresql": {"value": "new.value::jsonb", "confidence": "new.confidence::float8",
                   "id": "new.id::bigint"},
    "sqlite": {"value": "new.value", "confidence": "new.confidence", "id": "new.id"},
}  # fmt: skip


def _reconsolidate(job, data: _Answers, winners, confidence, method: str) -> int:
    """Rewrite the labels of labeled items whose label or confidence the new estimates move."""
    position = {int(item_id): index for index, item_id in enumerate(data.item_ids)}
    labels = job.labels
    changed = []
    current = (
        ConsolidatedLabel.objects.filter(job_id=job.pk, human_annotated=True)
        .exclude(method__in=FIXED_METHODS)
        .exclude(review_status__in=REVIEWED_STATUSES)
    )
    rows = current.values_list("id", "item_id", "label", "confidence", "method")
    for pk, item_id, old_label, old_confidence, old_method in rows.iterator(GATHER_CHUNK):
        index = position.get(item_id)
        if index is None:
            continue
        winner = int(winners[index])
        label, conf = labels[winner], round(float(confidence[index]), 6)
        moved = abs(conf - old_confidence) > CONFIDENCE_REWRITE_TOLERANCE
        if label != old_label or moved or old_method != method:
            value = json.dumps({"label": label, "class_id": winner})
            changed.append((pk, label, value, conf, method))
    return _write_labels(changed)


def _write_labels(changed: list[tuple[int, str, str, float, str]]) -> int:
    """Rewrite labels ``(id, label, value as JSON, confidence, method)``, 2,000 a statement."""
    changed.sort()  # rows in id order, as every writer of many labels takes them
    statement = _UPDATE_LABELS.format(rows="{rows}", **_CASTS[connection.vendor])
    with connection.cursor() as cursor:
        for start in range(0, len(changed), UPDATE_BATCH_SIZE):
            batch = changed[start : start + UPDATE_BATCH_SIZE]
            cursor.execute(
                statement.format(rows=", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))),
                [value for row in batch for value in row],
            )
    return len(changed)


# --- A job's rules, as the submit path reads them -------------------------------------------


@dataclass(frozen=True)
class JobRules:
    labels: list[str]
    workers_per_item: int
    min_workers_per_item: int | None
    target_confidence: float | None
    exclude_paused_answers: bool
    gold_min_answers: int
    gold_pause_below: float | None
    reward_cents: int
    gold_rate: float
    gold_pass_similarity: float | None = None

    @property
    def adaptive(self) -> bool:
        return self.min_workers_per_item is not None and self.target_confidence is not None


# The job's columns a JobRules is built from, in its field order (the submit's statement
# returns them with the closed lease on PostgreSQL, so no query of its own is needed).
JOB_RULE_FIELDS = (
    "labels",
    "workers_per_item",
    "min_workers_per_item",
    "target_confidence",
    "exclude_paused_answers",
    "gold_min_answers",
    "gold_pause_below",
    "reward_cents",
    "gold_rate",
    "gold_pass_similarity",
)


def job_rules_from_row(values) -> JobRules:
    labels, *rest = values
    if isinstance(labels, str):  # a raw cursor may hand JSON back as text
        labels = json.loads(labels)
    return JobRules(labels, *rest)


def job_rules(job_id: int) -> JobRules:
    return job_rules_from_row(Job.objects.values_list(*JOB_RULE_FIELDS).get(pk=job_id))


def multilabel_answer_reliability(
    *, job_id: int, worker_ids: list[int], n_labels: int
) -> LabelReliability | None:
    """Per answer, its worker's stored per-label reliability for a multi-label item, or None
    for a plain vote.

    Used only when the job consolidates with an EM method (chosen, or picked by ``auto`` at
    the last re-estimation) and estimates are stored (``services/quality_multilabel.py``).
    """
    chosen, in_use = Job.objects.values_list(
        "consolidation_method", "quality_estimate__method_in_use"
    ).get(pk=job_id)
    method = in_use if chosen == ConsolidationMethod.AUTO else chosen
    if method not in EM_METHODS or not worker_ids:
        return None
    return answer_reliability(job_id=job_id, worker_ids=worker_ids, n_labels=n_labels)


def claim_slots(job: Job) -> int:
    """How many workers an item takes before adaptive overlap gives it more: the claim's N."""
    if job.min_workers_per_item and job.target_confidence is not None:
        return min(job.min_workers_per_item, job.workers_per_item)
    return job.workers_per_item


def consolidated_label_set_final(
    *, job: Job, item_id: int, label: str, by: User | None = None
) -> ConsolidatedLabel:
    """A manager's final label for an item (the review queue): kept by every re-estimation.

    Checked by the job's task type like a worker's answer; refused for task types whose
    answer is not one class (boxes, spans, masks, ...)."""
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(pk=item_id, job_id=job.pk).first()
        if item is None:
            raise NotFound(f"there is no item {item_id} in this job")
        final = manager_label_parse(job=job, label=label, item_data=item.data)
        label = final.label
        answers = Annotation.objects.filter(item_id=item_id).count()
        before = label_snapshot(ConsolidatedLabel.objects.filter(item=item).first())
        consolidated, created = ConsolidatedLabel.objects.update_or_create(
            item=item,
            defaults={
                "job": job,
                "label": label,
                "value": final.value,
                "confidence": 1.0,
                "method": "manual",
                "human_annotated": True,
                "answers_count": answers,
            },
        )
        consolidated_classes_write(task_type=job.task_type, consolidated=[consolidated])
        if item.status == ItemStatus.OPEN:
            Item.objects.filter(pk=item.pk).update(status=ItemStatus.LABELED)
            job_counters_add(job_id=job.pk, shard_key=0, items_labeled=1, answers=0)
        item_event_record(  # issue 14: the item's history
            job_id=job.pk,
            item_id=item.pk,
            kind="edited",
            actor=by,
            data={"before": before, "after": label_snapshot(consolidated)},
        )
        publish_on_commit(
            item_consolidated, job_id=job.pk, item_id=item.pk, label=label, confidence=1.0
        )
    job_complete_if_done(job_id=job.pk)
    return consolidated


QUALITY_FIELDS = (
    "consolidation_method",
    "gold_rate",
    "gold_min_answers",
    "gold_pause_below",
    "exclude_paused_answers",
    "min_workers_per_item",
    "target_confidence",
    "data_may_leave_private",
    "gold_pass_similarity",
)


def job_quality_configure(*, job: Job, **changes) -> Job:
    """Change a job's quality settings (method, gold, adaptive overlap, personal-data rule)."""
    unknown = set(changes) - set(QUALITY_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown settings: {', '.join(sorted(unknown))}")
    values = {name: changes.get(name, getattr(job, name)) for name in QUALITY_FIELDS}
    if values["consolidation_method"] not in ConsolidationMethod.values:
        raise ValidationFailed(
            f"consolidation_method is one of {', '.join(ConsolidationMethod.values)}",
            details={"field": "consolidation_method"},
        )
    for name in ("gold_rate", "gold_pause_below", "target_confidence", "gold_pass_similarity"):
        value = values[name]
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ValidationFailed(f"{name} must be between 0 and 1", details={"field": name})
    low, target = values["min_workers_per_item"], values["target_confidence"]
    if (low is None) != (target is None):
        raise ValidationFailed(
            "adaptive overlap needs both min_workers_per_item and target_confidence",
            details={"field": "min_workers_per_item"},
        )
    if low is not None and not 1 <= low <= job.workers_per_item:
        raise ValidationFailed(
            f"min_workers_per_item must be 1..{job.workers_per_item} (workers_per_item is the "
            "maximum)",
            details={"field": "min_workers_per_item"},
        )
    check_personal_data_rule(team=job.team, data_may_leave_private=values["data_may_leave_private"])
    for name, value in values.items():
        setattr(job, name, value)
    job.save(update_fields=list(QUALITY_FIELDS))
    if {"consolidation_method", "exclude_paused_answers"} & set(changes):
        quality_request_reestimate(job_id=job.pk)
    return job
