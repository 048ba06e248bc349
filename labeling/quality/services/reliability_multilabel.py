"""Worker reliability on multi-label jobs: gather answers, store per-label estimates, relabel.

Every label is a yes/no question; the multi-label EM (``consolidation/multilabel_em.py``)
learns each worker's sensitivity and specificity per label. ``services/quality.py`` runs it
inside the job's re-estimation (the same Celery task as single-label EM) with these helpers;
the submit path reads the stored estimates back through :func:`answer_reliability`.
"""

import json
from dataclasses import dataclass

import numpy as np

from labeling.consolidation.multilabel_em import LabelReliability, MultilabelEMResult
from labeling.models import Annotation, ConsolidatedLabel, Job, JobQualityEstimate, WorkerQuality
from labeling.quality.math.adaptive import DEFAULT_ACCURACY
from labeling.quality.services.store import CONFIDENCE_REWRITE_TOLERANCE, store_workers

GATHER_CHUNK = 20_000


@dataclass(frozen=True)
class LabelAnswers:
    items: np.ndarray  # dense item index per answer
    workers: np.ndarray  # dense worker index per answer
    chosen: np.ndarray  # (n_answers, n_labels) bool
    item_ids: np.ndarray  # dense index -> Item id
    worker_ids: np.ndarray  # dense index -> User id


def multilabel_gather(job: Job, kind) -> LabelAnswers:
    """Every answer of a multi-label job as a 0/1 row, gold items and excluded workers left
    out. The answer JSON is read in chunks; only the chosen labels are kept."""
    index = {label: position for position, label in enumerate(job.labels)}
    rows = Annotation.objects.filter(job_id=job.pk).exclude(item__gold__isnull=False)
    if job.exclude_paused_answers:
        paused = WorkerQuality.objects.filter(job_id=job.pk, paused=True).values("worker_id")
        rows = rows.exclude(worker_id__in=paused)
    item_list, worker_list, picks = [], [], []
    for item_id, worker_id, answer in rows.values_list("item_id", "worker_id", "answer").iterator(
        GATHER_CHUNK
    ):
        item_list.append(item_id)
        worker_list.append(worker_id)
        picks.append([index[label] for label in kind.chosen_labels(answer) if label in index])
    chosen = np.zeros((len(picks), len(job.labels)), dtype=bool)
    rows_of = np.repeat(np.arange(len(picks)), [len(p) for p in picks])
    chosen[rows_of, np.array([c for p in picks for c in p], dtype=np.int64)] = True
    item_ids, items = np.unique(np.array(item_list, dtype=np.int64), return_inverse=True)
    worker_ids, workers = np.unique(np.array(worker_list, dtype=np.int64), return_inverse=True)
    return LabelAnswers(items, workers, chosen, item_ids, worker_ids)


def _stored(job_id: int, worker_ids, n_labels: int) -> dict[int, tuple[list, list]]:
    rows = (
        WorkerQuality.objects.filter(job_id=job_id, worker_id__in=list(worker_ids))
        .exclude(label_reliability={})
        .values_list("worker_id", "label_reliability")
    )
    out = {}
    for worker_id, stored in rows:
        sens, spec = stored.get("sensitivity") or [], stored.get("specificity") or []
        if len(sens) == n_labels and len(spec) == n_labels:
            out[worker_id] = (sens, spec)
    return out


def _priors(job_id: int, n_labels: int) -> np.ndarray:
    priors = JobQualityEstimate.objects.filter(job_id=job_id).values_list("priors", flat=True)
    stored = next(iter(priors), None) or []
    return np.array(stored, dtype=np.float64) if len(stored) == n_labels else np.full(n_labels, 0.5)


def multilabel_previous(job_id: int, worker_ids, n_labels: int) -> LabelReliability | None:
    """The stored estimates, one row per worker of ``worker_ids``, to start EM from (warm
    start); a worker with none yet starts as the default worker. None when nothing is stored."""
    stored = _stored(job_id, [int(w) for w in worker_ids], n_labels)
    if not stored:
        return None
    sens = np.full((len(worker_ids), n_labels), DEFAULT_ACCURACY)
    spec = np.full((len(worker_ids), n_labels), DEFAULT_ACCURACY)
    for row, worker_id in enumerate(worker_ids):
        if int(worker_id) in stored:
            sens[row], spec[row] = stored[int(worker_id)]
    return LabelReliability(sens, spec, _priors(job_id, n_labels))


def answer_reliability(*, job_id: int, worker_ids: list[int], n_labels: int):
    """Per answer (its worker's row), the stored per-label estimates, or None when the job
    has no estimate at all. A worker without per-label estimates counts with the accuracy a
    manager or an older run stored (as both sensitivity and specificity), else as the
    default 70 % worker."""
    stored = _stored(job_id, set(worker_ids), n_labels)
    accuracy = dict(
        WorkerQuality.objects.filter(job_id=job_id, estimated_accuracy__isnull=False).values_list(
            "worker_id", "estimated_accuracy"
        )
    )
    if not stored and not accuracy:
        return None
    sens = np.empty((len(worker_ids), n_labels))
    spec = np.empty((len(worker_ids), n_labels))
    for row, worker_id in enumerate(worker_ids):
        if worker_id in stored:
            sens[row], spec[row] = stored[worker_id]
        else:
            sens[row] = spec[row] = accuracy.get(worker_id, DEFAULT_ACCURACY)
    return LabelReliability(sens, spec, _priors(job_id, n_labels))


def multilabel_agreement(data: LabelAnswers, selected: np.ndarray) -> np.ndarray:
    """Per worker: the share of their yes/no decisions that match the consolidated labels."""
    n_workers = len(data.worker_ids)
    matches = (data.chosen == selected[data.items]).mean(axis=1)
    total = np.bincount(data.workers, minlength=n_workers)
    agreed = np.bincount(data.workers, weights=matches, minlength=n_workers)
    return np.divide(agreed, total, out=np.full(n_workers, np.nan), where=total > 0)


def multilabel_store_workers(
    job: Job, data: LabelAnswers, result: MultilabelEMResult, agreement: np.ndarray
) -> None:
    reliability = result.reliability
    sensitivity = np.round(reliability.sensitivity, 6).tolist()
    specificity = np.round(reliability.specificity, 6).tolist()
    store_workers(
        job,
        data.worker_ids,
        answered=np.bincount(data.workers, minlength=len(data.worker_ids)),
        accuracy=reliability.accuracy(),
        agreement=agreement,
        per_worker={
            "confusion": [[] for _ in data.worker_ids],
            "label_reliability": [
                {"sensitivity": sens, "specificity": spec}
                for sens, spec in zip(sensitivity, specificity, strict=True)
            ],
        },
    )


def multilabel_relabels(
    job: Job, kind, data: LabelAnswers, posteriors: np.ndarray, fixed_methods
) -> list[tuple[int, str, str, float, str]]:
    """The labeled items whose labels or confidence the posteriors move, as rows for the
    re-estimation's label rewrite: ``(id, label, value as JSON, confidence, method)``. Labels
    a manager set and gold labels are left out."""
    position = {int(item_id): index for index, item_id in enumerate(data.item_ids)}
    current = ConsolidatedLabel.objects.filter(job_id=job.pk, human_annotated=True).exclude(
        method__in=fixed_methods
    )
    changed = []
    rows = current.values_list("id", "item_id", "value", "confidence", "method")
    for pk, item_id, old_value, old_confidence, old_method in rows.iterator(GATHER_CHUNK):
        index = position.get(item_id)
        if index is None:
            continue
        new = kind.consolidate_posterior(posteriors[index], job.labels)
        moved = abs(new.confidence - old_confidence) > CONFIDENCE_REWRITE_TOLERANCE
        if moved or new.value != old_value or new.method != old_method:
            changed.append((pk, new.label[:200], json.dumps(new.value), new.confidence, new.method))
    return changed
