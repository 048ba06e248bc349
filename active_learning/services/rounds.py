"""Rounds of the loop: queue one when enough new human labels exist, run it under the job's
training lease, apply what it found in one transaction, recover rounds whose worker died.

A round is idempotent: its row moves queued → training → done by guarded updates, the
auto-labels only touch items still open and untouched, and a second run of a finished round
does nothing. One training per job at a time: the lease is a token with an expiry on the
job's settings row, renewed while training, so a killed worker's lease simply runs out.
"""

import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from active_learning.models import (
    AutoLabel,
    AutoLabeling,
    HeldOutItem,
    ModelArtifact,
    Suggestion,
    TrainingRound,
)
from active_learning.services.priorities import (
    PRIORITY_BATCH_SIZE,
    UNCERTAINTY_SCALE,
    VALIDATION_PRIORITY,
    validation_slice_ensure,
)
from active_learning.services.training import (
    NotEnoughLabels,
    Trained,
    job_cache_folder,
    model_train,
)
from active_learning.services.training_shapes import shapes_train
from active_learning.shapespace import SHAPE_TASK_TYPES
from active_learning.states import ROUND_PENDING, ROUND_TRANSITIONS, RoundStatus, RoundTrigger
from active_learning.strategies import get_strategy
from active_learning.strategies.base import QueryContext
from labeling.after_commit import on_commit_safely
from labeling.errors import InvalidTransition
from labeling.models import ConsolidatedLabel, Item, Job
from labeling.services.machine_labels import MachineLabel, items_label_by_model
from labeling.states import ItemStatus, JobStatus

logger = logging.getLogger(__name__)

LABEL_BATCH_SIZE = 1000
# A queued round whose message was lost is sent again after this long.
QUEUED_STALE_SECONDS = 600


def lease_seconds() -> int:
    return int(getattr(settings, "ACTIVE_LEARNING_LEASE_SECONDS", 120))


class LeaseLost(Exception):
    """Another worker took the job's training lease: this one must not write."""


class TrainingLease:
    """The job's training lease: take it, renew it while working, give it back."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.token = uuid.uuid4().hex

    def take(self) -> bool:
        now = timezone.now()
        return bool(
            AutoLabeling.objects.filter(job_id=self.job_id)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .update(
                lease_token=self.token, lease_expires_at=now + timedelta(seconds=lease_seconds())
            )
        )

    def renew(self) -> None:
        now = timezone.now()
        renewed = AutoLabeling.objects.filter(
            job_id=self.job_id, lease_token=self.token, lease_expires_at__gt=now
        ).update(lease_expires_at=now + timedelta(seconds=lease_seconds()))
        if not renewed:
            raise LeaseLost(f"the training lease of job {self.job_id} ran out or was taken")

    def lock_if_held(self) -> AutoLabeling:
        """Inside a transaction: lock the settings row, or raise if the lease is gone."""
        config = (
            AutoLabeling.objects.select_for_update()
            .filter(job_id=self.job_id, lease_token=self.token, lease_expires_at__gt=timezone.now())
            .first()
        )
        if config is None:
            raise LeaseLost(f"the training lease of job {self.job_id} ran out or was taken")
        return config

    def release(self) -> None:
        AutoLabeling.objects.filter(job_id=self.job_id, lease_token=self.token).update(
            lease_token="", lease_expires_at=None
        )


def round_transition(*, round: TrainingRound, to: str, reason: str = "", **fields) -> bool:
    """Move a round by a guarded update; False when it was not where this caller saw it."""
    old = round.status
    if to not in ROUND_TRANSITIONS.get(old, frozenset()):
        raise InvalidTransition(f"a {old} round cannot become {to}", details={"to": to})
    with transaction.atomic():
        guard = {"attempts": round.attempts} if old == to else {}
        moved = TrainingRound.objects.filter(pk=round.pk, status=old, **guard).update(
            status=to, message=reason[:500], **fields
        )
        if moved != 1:
            return False
        round.history.create(from_status=old, to_status=to, reason=reason[:500])
    round.status = to
    round.message = reason[:500]
    for key, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(round, key, value)
    return True


def round_labels_needed(config: AutoLabeling) -> int:
    """New human labels a round waits for: a fixed count, or a share of the labels so far."""
    return max(config.round_every, math.ceil(config.round_growth * config.labels_at_last_round))


def _human_label_count(job_id: int) -> int:
    return ConsolidatedLabel.objects.filter(job_id=job_id, human_annotated=True).count()


def rounds_recover(*, job_id: int, enqueue: Callable[[int], None] | None = None) -> int:
    """Fail a training round whose worker died (its lease ran out); resend a lost queued one.

    The settings row stays locked meanwhile, so no worker can take the lease between the
    check that it is free and the move of the round.
    """
    recovered, resend = 0, []
    with transaction.atomic():
        now = timezone.now()
        config = AutoLabeling.objects.select_for_update().filter(job_id=job_id).first()
        if config is None:
            return 0
        lease_free = not config.lease_token or (
            config.lease_expires_at is not None and config.lease_expires_at <= now
        )
        for stale in TrainingRound.objects.filter(job_id=job_id, status__in=ROUND_PENDING):
            if stale.status == RoundStatus.TRAINING and lease_free:
                expired = config.lease_expires_at.isoformat() if config.lease_expires_at else "—"
                recovered += round_transition(
                    round=stale,
                    to=RoundStatus.FAILED,
                    reason=f"the worker stopped during training; its lease ran out at {expired}",
                    finished_at=now,
                )
            elif stale.status == RoundStatus.QUEUED and stale.queued_at <= now - timedelta(
                seconds=QUEUED_STALE_SECONDS
            ):
                resend.append(stale.pk)
    if enqueue is not None:
        for round_id in resend:
            enqueue(round_id)
            recovered += 1
    return recovered


def round_request(
    *, job_id: int, trigger: str, enqueue: Callable[[int], None] | None = None
) -> TrainingRound | None:
    """Queue a round if the job's loop is on, none is pending, and (unless a manager asks) at
    least ``round_labels_needed`` human labels arrived since the last one: ``round_every``, or
    ``round_growth`` times the labels the last round had when that is more. None when nothing
    is queued.

    ``enqueue`` sends the round to a worker after the commit (the Celery task does this); a
    caller that runs rounds itself passes None.
    """
    rounds_recover(job_id=job_id, enqueue=enqueue)
    with transaction.atomic():
        config = AutoLabeling.objects.select_for_update().filter(job_id=job_id).first()
        if config is None or not config.enabled:
            return None
        validation_slice_ensure(job_id=job_id)
        job_status = Job.objects.values_list("status", flat=True).get(pk=job_id)
        if job_status != JobStatus.IN_PROGRESS:
            return None
        humans = _human_label_count(job_id)
        new_labels = humans - config.labels_at_last_round
        # The human labels reached the budget: one last round, whatever the count of new ones.
        last_round = (
            config.human_budget is not None
            and humans >= config.human_budget
            and config.budget_spent_at is None
        )
        if (
            trigger != RoundTrigger.MANUAL
            and not last_round
            and new_labels < round_labels_needed(config)
        ):
            return None
        if TrainingRound.objects.filter(job_id=job_id, status__in=ROUND_PENDING).exists():
            return None  # a pending round's end brings the next check (the sweep, at worst)
        if last_round:
            trigger = RoundTrigger.BUDGET
            config.budget_spent_at = timezone.now()
        last = (
            TrainingRound.objects.filter(job_id=job_id)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        try:
            with transaction.atomic():
                new = TrainingRound.objects.create(
                    job_id=job_id, number=(last or 0) + 1, trigger=trigger, human_labels=humans
                )
        except IntegrityError:  # pragma: no cover - the row lock above serialises requests
            return None
        config.labels_at_last_round = humans
        config.save(update_fields=["labels_at_last_round", "budget_spent_at", "updated_at"])
        if enqueue is not None:
            # Lost if the broker is down: the sweep's rounds_recover sends it again.
            on_commit_safely(lambda: enqueue(new.pk), what=f"enqueueing training round {new.pk}")
    return new


def _pause_for_fault_tests(heartbeat: Callable[[], None]) -> None:
    """Fault injection: hold the lease this long before training (0 outside such tests)."""
    pause = float(getattr(settings, "ACTIVE_LEARNING_FAULT_PAUSE_SECONDS", 0))
    until = time.monotonic() + pause
    while time.monotonic() < until:
        heartbeat()
        time.sleep(min(0.2, max(until - time.monotonic(), 0)))


def round_run(*, round_id: int) -> str:
    """Run a queued round (or take over one whose worker died); return its status, or
    "busy" when another worker holds the job's lease (the caller retries later)."""
    current = TrainingRound.objects.filter(pk=round_id).first()
    if current is None:
        return "missing"
    if current.status not in ROUND_PENDING:
        return current.status
    lease = TrainingLease(current.job_id)
    if not lease.take():
        return "busy"
    try:
        current.refresh_from_db()
        if current.status not in ROUND_PENDING:
            return current.status
        # Holding the lease, a round in "training" is one whose worker died: take it over.
        if not round_transition(
            round=current,
            to=RoundStatus.TRAINING,
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
        ):
            current.refresh_from_db()
            return current.status
        return _train_and_apply(current, lease)
    finally:
        lease.release()


def _train_and_apply(current: TrainingRound, lease: TrainingLease) -> str:
    job = Job.objects.get(pk=current.job_id)
    config = AutoLabeling.objects.get(job_id=job.pk)
    current.refresh_from_db(fields=["attempts"])
    try:
        _pause_for_fault_tests(lease.renew)
        train = shapes_train if job.task_type in SHAPE_TASK_TYPES else model_train
        trained = train(job=job, config=config, heartbeat=lease.renew)
    except LeaseLost:
        logger.warning("round %s of job %s lost its lease while training", current.pk, job.pk)
        return "lease_lost"
    except NotEnoughLabels as exc:
        round_transition(
            round=current, to=RoundStatus.SKIPPED, reason=str(exc), finished_at=timezone.now()
        )
        return current.status
    except Exception as exc:
        logger.exception("round %s of job %s failed", current.pk, job.pk)
        round_transition(
            round=current,
            to=RoundStatus.FAILED,
            reason=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        return current.status
    path = _save_artifact(job.pk, current.number, trained)
    try:
        _apply(current, lease, trained, path)
    except LeaseLost:
        logger.warning("round %s of job %s lost its lease before applying", current.pk, job.pk)
        return "lease_lost"
    return current.status


def _save_artifact(job_id: int, version: int, trained: Trained) -> str:
    folder = job_cache_folder(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"model-v{version}.{trained.learner.suffix}"
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex}.partial")
    trained.learner.save(partial)
    partial.replace(final)
    return str(final.relative_to(Path(settings.MEDIA_ROOT)))


def _apply(current: TrainingRound, lease: TrainingLease, trained: Trained, path: str) -> None:
    """Store the model, auto-label, reorder the queue and close the round: all or nothing."""
    job = Job.objects.only("id", "labels", "items_total").get(pk=current.job_id)
    choice = trained.choice
    with transaction.atomic():
        config = lease.lock_if_held()
        artifact = ModelArtifact.objects.create(
            job_id=job.pk,
            version=current.number,
            kind=trained.kind,
            path=path,
            classes=list(job.labels),
            metrics={
                "training_accuracy": round(trained.training_accuracy, 4),
                "validation_accuracy": (
                    None
                    if trained.validation_accuracy is None
                    else round(trained.validation_accuracy, 4)
                ),
                "validation_covered": choice.covered,
                "validation_correct": choice.correct,
                "accuracy_at_threshold": choice.accuracy,
                "lower_bound": round(choice.lower_bound, 4),
                "target_accuracy": config.target_accuracy,
                "alpha": choice.alpha,
                "validation_carried": choice.carried_covered,
                "threshold_score": "confidence" if trained.calibration is None else "calibrated",
                "calibration_pairs": (
                    0 if trained.calibration is None else trained.calibration.pairs
                ),
            },
            threshold=choice.threshold,
            training_size=trained.training_size,
            validation_size=choice.validation_size,
            training_seconds=round(trained.seconds, 3),
        )
        if trained.metric == "mean-iou":  # issue 19: box and mask jobs
            artifact.metrics.update(
                metric="mean-iou",
                training_mean_iou=artifact.metrics.pop("training_accuracy"),
                validation_mean_iou=artifact.metrics.pop("validation_accuracy"),
                mean_iou_at_threshold=artifact.metrics.pop("accuracy_at_threshold"),
                target_mean_iou=trained.target,
                target_accuracy=None,
                lower_bound_method="max(Hoeffding, empirical Bernstein), alpha/2 each",
            )
            artifact.metrics["validation_reaching_target"] = artifact.metrics.pop(
                "validation_correct"
            )
            artifact.save(update_fields=["metrics"])
        target = trained.target if trained.target is not None else config.target_accuracy
        measure = "mean IoU" if trained.metric == "mean-iou" else "accuracy"
        proven = f"a mean IoU of {target}" if trained.metric == "mean-iou" else f"{target}"
        score = trained.pool_threshold_score
        humans = _human_label_count(job.pk)
        budget_spent = config.human_budget is not None and humans >= config.human_budget
        labeled: set[int] = set()
        if config.may_auto_label and choice.threshold is not None:
            eligible = trained.pool_untouched & ~trained.pool_held_out & (score >= choice.threshold)
            labeled = _auto_label(job, current, artifact, trained, eligible)
            _mark_held_out(current, trained, choice.threshold)
        remaining = np.asarray([int(i) not in labeled for i in trained.pool_ids], bool)
        if labeled and config.validation_refill:
            _refill_validation(job, config, current, trained, remaining)
        reordered = _reprioritise(config, trained, remaining, round_number=current.number)
        if config.preannotate:
            _suggest(job, artifact, trained, remaining)
        auto_total = ConsolidatedLabel.objects.filter(job_id=job.pk, human_annotated=False).count()
        notes = []
        if not config.may_auto_label:
            notes.append(config.stopped_reason or "automated labeling is off")
        elif choice.threshold is None:
            notes.append(
                f"no threshold: the lower bound of validation {measure} reached "
                f"{choice.lower_bound:.3f} of the {target} needed "
                f"({choice.validation_size} validation labels)"
            )
        if budget_spent:
            left = Item.objects.filter(job_id=job.pk, status=ItemStatus.OPEN).count()
            notes.append(
                f"the human budget of {config.human_budget} items is spent; {left} items are "
                f"left unlabeled: the model could not prove {proven} on them"
            )
        moved = round_transition(
            round=current,
            to=RoundStatus.DONE,
            reason="; ".join(notes),
            finished_at=timezone.now(),
            artifact=artifact,
            threshold=choice.threshold,
            validation_size=choice.validation_size,
            validation_accuracy=trained.validation_accuracy,
            lower_bound=choice.lower_bound,
            auto_labeled=len(labeled),
            reprioritized=reordered,
            items_total=job.items_total,
            items_human=humans,
            items_auto=auto_total,
        )
        if not moved:  # pragma: no cover - the lease makes this round ours alone
            raise LeaseLost(f"round {current.pk} changed while it was applied")


def _auto_label(
    job: Job,
    current: TrainingRound,
    artifact: ModelArtifact,
    trained: Trained,
    eligible: np.ndarray,
) -> set[int]:
    space = trained.space
    predicted = space.predicted(trained.pool_probabilities)
    rows = np.flatnonzero(eligible)
    done: set[int] = set()
    for start in range(0, len(rows), LABEL_BATCH_SIZE):
        batch = rows[start : start + LABEL_BATCH_SIZE]
        wanted = {
            int(trained.pool_ids[row]): MachineLabel(
                item_id=int(trained.pool_ids[row]),
                label=space.text(predicted[row]),
                value=space.value(trained.pool_probabilities[row]),
                confidence=float(trained.pool_confidence[row]),
            )
            for row in batch
        }
        ids = items_label_by_model(
            job_id=job.pk, labels=wanted.values(), method=f"model-v{artifact.version}"
        )
        AutoLabel.objects.bulk_create(
            AutoLabel(
                job_id=job.pk,
                item_id=item_id,
                round=current,
                artifact=artifact,
                label=wanted[item_id].label[:200],
                value=wanted[item_id].value,
                confidence=round(wanted[item_id].confidence, 6),
            )
            for item_id in ids
        )
        done.update(ids)
    return done


def _mark_held_out(current: TrainingRound, trained: Trained, threshold: float) -> int:
    """Mark the held-out items this round's model would have labeled, with that label: they
    stop judging as unlabeled items and judge the job's auto-labels by it from now on."""
    rows = np.flatnonzero(trained.held_out_threshold_score >= threshold)
    by_item = {int(trained.held_out_ids[row]): row for row in rows}
    marked = list(
        HeldOutItem.objects.filter(item_id__in=list(by_item), would_label_round__isnull=True)
    )
    probabilities = trained.held_out_probabilities
    predicted = None if probabilities is None else trained.space.predicted(probabilities)
    for held in marked:
        held.would_label_round = current.number
        if predicted is not None:
            row = by_item[held.item_id]
            held.would_label = trained.space.text(predicted[row])[:200]
            held.would_label_value = trained.space.value(probabilities[row])
    HeldOutItem.objects.bulk_update(
        marked,
        ["would_label_round", "would_label", "would_label_value"],
        batch_size=PRIORITY_BATCH_SIZE,
    )
    return len(marked)


def _refill_validation(
    job: Job,
    config: AutoLabeling,
    current: TrainingRound,
    trained: Trained,
    remaining: np.ndarray,
) -> int:
    """Bring the validation slice back to its size with a random draw from the items still
    waiting: the next threshold is judged on items like the ones it will label."""
    active = HeldOutItem.objects.filter(job_id=job.pk, would_label_round__isnull=True).count()
    rows = np.flatnonzero(remaining & trained.pool_untouched & ~trained.pool_held_out)
    wanted = min(config.validation_size - active, len(rows))
    if wanted <= 0:
        return 0
    chooser = random.Random(f"{job.pk}:{current.number}")  # random, repeatable per round
    chosen = sorted(chooser.sample(rows.tolist(), wanted))
    HeldOutItem.objects.bulk_create(
        (HeldOutItem(job_id=job.pk, item_id=int(trained.pool_ids[row])) for row in chosen),
        batch_size=PRIORITY_BATCH_SIZE,
    )
    Item.objects.bulk_update(
        [
            Item(
                pk=int(trained.pool_ids[row]),
                priority=VALIDATION_PRIORITY + chooser.randrange(UNCERTAINTY_SCALE),
            )
            for row in chosen
        ],
        ["priority"],
        batch_size=PRIORITY_BATCH_SIZE,
    )
    trained.pool_held_out[chosen] = True
    return wanted


def _reprioritise(
    config: AutoLabeling, trained: Trained, remaining: np.ndarray, round_number: int = 0
) -> int:
    """Put the least certain first among the items still waiting for humans (in bulk)."""
    rows = np.flatnonzero(remaining & ~trained.pool_held_out & trained.pool_untouched)
    if not len(rows):
        return 0
    context = QueryContext(
        batch_size=round_labels_needed(config), round_number=round_number, seed=config.job_id
    )
    scores = trained.space.uncertainty(
        trained.pool_probabilities[rows], get_strategy(config.strategy), context
    )
    priorities = np.rint(np.clip(scores, 0, 1) * UNCERTAINTY_SCALE).astype(np.int64)
    items = [
        Item(pk=int(trained.pool_ids[row]), priority=int(priority))
        for row, priority in zip(rows, priorities, strict=True)
    ]
    Item.objects.bulk_update(items, ["priority"], batch_size=PRIORITY_BATCH_SIZE)
    return len(items)


def _suggest(job: Job, artifact: ModelArtifact, trained: Trained, remaining: np.ndarray) -> None:
    """Replace the suggestions of items waiting for humans; never on the validation slice."""
    rows = np.flatnonzero(remaining & ~trained.pool_held_out)
    ids = [int(trained.pool_ids[row]) for row in rows]
    space = trained.space
    predicted = space.predicted(trained.pool_probabilities)
    for start in range(0, len(ids), LABEL_BATCH_SIZE):
        Suggestion.objects.filter(item_id__in=ids[start : start + LABEL_BATCH_SIZE]).delete()
    Suggestion.objects.bulk_create(
        (
            Suggestion(
                job_id=job.pk,
                item_id=int(trained.pool_ids[row]),
                artifact=artifact,
                label=space.text(predicted[row])[:200],
                value=space.value(trained.pool_probabilities[row]),
                confidence=round(float(trained.pool_confidence[row]), 6),
            )
            for row in rows
        ),
        batch_size=LABEL_BATCH_SIZE,
    )
