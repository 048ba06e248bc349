"""Scoring one item in the submit path with the stored worker estimates (no EM in a request).

``item_score`` gives the label an item gets when it is consolidated (majority vote until a
re-estimation picked EM for the job, then the posterior under the stored confusion matrices);
``item_stop_confidence`` gives the posterior adaptive overlap's stop rule reads, under the
stored estimates whatever the job's method (``labeling/quality/math/adaptive.py``).
"""

import json
from typing import NamedTuple

import numpy as np
from django.db import connection

from labeling.models import ConsolidationMethod, WorkerQuality
from labeling.quality.math.adaptive import WorkerEstimates, item_posteriors
from labeling.quality.services.reliability import EM_METHODS, JobRules, job_rules


class ItemScore(NamedTuple):
    winner: int  # class index, -1 when no answer counts
    confidence: float
    method: str
    answers: int  # every answer of the item, counted or not


class _ItemAnswers(NamedTuple):
    classes: np.ndarray  # class index per counted answer
    workers: list[int]  # worker id per counted answer
    given: int  # every answer of the item, counted or not


# A plain statement (issue 20): it runs in the submit that consolidates an item, where the
# ORM's compiling of it cost more than the read (bench/profile_requests.py). The job's stored
# estimate (one row or none) comes with the item's answers, one round trip for both; an item
# without answers gives one row with a NULL answer.
_ITEM_ANSWERS_AND_ESTIMATE = """
SELECT estimate.method_in_use, estimate.priors, answer.label, answer.worker_id
FROM (SELECT %s AS id) AS job
LEFT JOIN labeling_jobqualityestimate AS estimate ON estimate.job_id = job.id
LEFT JOIN labeling_annotation AS answer ON answer.item_id = %s
ORDER BY answer.id
"""


class _Estimate(NamedTuple):
    """What scoring reads of a job's last re-estimation (labeling.JobQualityEstimate)."""

    method_in_use: str
    priors: list


def _item_answers_and_estimate(
    job_id: int, item_id: int, labels: list[str], rules: JobRules | None
) -> tuple[_ItemAnswers, _Estimate | None]:
    """The item's answers (those the job counts, as class indexes) and the job's estimate."""
    excluded = excluded_workers(job_id, rules)
    class_index = {label: index for index, label in enumerate(labels)}
    with connection.cursor() as cursor:
        cursor.execute(_ITEM_ANSWERS_AND_ESTIMATE, [job_id, item_id])
        rows = cursor.fetchall()
    method, priors = rows[0][:2]
    estimate = None
    if method is not None:
        estimate = _Estimate(method, json.loads(priors) if isinstance(priors, str) else priors)
    given = [(label, worker_id) for _, _, label, worker_id in rows if worker_id is not None]
    counted = [
        (class_index[label], worker_id)
        for label, worker_id in given
        if label in class_index and worker_id not in excluded
    ]
    classes = np.array([answer for answer, _ in counted], dtype=np.int64)
    return _ItemAnswers(classes, [worker for _, worker in counted], len(given)), estimate


def _posterior(job_id: int, answers: _ItemAnswers, n_classes: int, estimate) -> np.ndarray:
    """The item's posterior with its workers' stored matrices (default for the others)."""
    stored = dict(
        WorkerQuality.objects.filter(job_id=job_id, worker_id__in=answers.workers)
        .exclude(confusion=[])
        .values_list("worker_id", "confusion")
    )
    known = np.array([len(stored.get(w) or []) == n_classes for w in answers.workers])
    confusions = np.zeros((len(answers.workers), n_classes, n_classes))
    for index, worker in enumerate(answers.workers):
        if known[index]:
            confusions[index] = stored[worker]
    priors = estimate.priors if estimate is not None else None
    estimates = None if estimate is None else WorkerEstimates(confusions, known, priors)
    return item_posteriors(
        np.zeros(len(answers.workers), dtype=np.int64),
        np.arange(len(answers.workers)),
        answers.classes,
        n_items=1,
        n_classes=n_classes,
        n_workers=len(answers.workers),
        estimates=estimates,
    )[0]


def item_score(
    *, job_id: int, item_id: int, labels: list[str], rules: JobRules | None = None
) -> ItemScore:
    """The class, confidence and method of one item's answers under the stored estimates.

    Majority vote until a re-estimation chose EM for the job; then the item's posterior with
    each worker's stored confusion matrix (the default one for a worker not yet estimated).
    """
    answers, estimate = _item_answers_and_estimate(job_id, item_id, labels, rules)
    method = estimate.method_in_use if estimate else ConsolidationMethod.MAJORITY
    if not answers.workers:
        return ItemScore(-1, 0.0, method, answers.given)
    if method not in EM_METHODS:
        counts = np.bincount(answers.classes, minlength=len(labels))
        winner = int(counts.argmax())
        share = float(counts[winner] / counts.sum())
        return ItemScore(winner, share, ConsolidationMethod.MAJORITY, answers.given)
    posterior = _posterior(job_id, answers, len(labels), estimate)
    winner = int(posterior.argmax())
    return ItemScore(winner, float(posterior[winner]), method, answers.given)


def item_stop_confidence(
    *, job_id: int, item_id: int, labels: list[str], rules: JobRules | None = None
) -> float:
    """The posterior of the item's most probable class, as adaptive overlap's stop rule reads it.

    Under the stored estimates whatever the job's method, so that two agreeing answers are
    never "100 % sure"; before the job's first re-estimation every worker is the default one.
    """
    answers, estimate = _item_answers_and_estimate(job_id, item_id, labels, rules)
    if not answers.workers:
        return 0.0
    return float(_posterior(job_id, answers, len(labels), estimate).max())


def excluded_workers(job_id: int, rules: JobRules | None = None) -> set[int]:
    """Paused workers whose answers the job leaves out (pausing is on only with a gold bar)."""
    rules = rules or job_rules(job_id)
    if not rules.exclude_paused_answers or rules.gold_pause_below is None:
        return set()
    return set(
        WorkerQuality.objects.filter(job_id=job_id, paused=True).values_list("worker_id", flat=True)
    )
