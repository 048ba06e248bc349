"""Training a round's model: gather the job's human labels, fit, predict, pick the threshold.

Runs outside any transaction (it is the slow part); what it returns is applied by
``active_learning.services.rounds`` under the job's lease.
"""

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from active_learning.calibration import ClassCalibration, class_calibration_fit
from active_learning.labelspace import LabelSpace, label_key
from active_learning.learners.base import Heartbeat, Learner
from active_learning.learners.images import load_pixels
from active_learning.learners.registry import learner_module, make_learner
from active_learning.models import AutoLabel, AutoLabeling, HeldOutItem, LearnerKind
from active_learning.shapespace import BOX_TASK_TYPES, MASK_TASK_TYPES
from active_learning.threshold import ThresholdChoice, alpha_for_round, select_threshold
from labeling.models import ConsolidatedLabel, Item, Job
from labeling.states import ItemStatus
from labeling.task_types import get_task_type

TRAINING_ACCURACY_SAMPLE = 2000
# Each round's prediction for every open item outside the validation slice (the last one
# made while the item was open), kept to calibrate later rounds' scores once humans label it.
OPEN_PREDICTIONS_FILE = "open-predictions.npz"


def train_on_auto_labels() -> bool:
    """Whether rounds also train on earlier rounds' auto-labels (self-training)."""
    return bool(getattr(settings, "ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS", False))


def class_calibration_on() -> bool:
    """Whether the threshold reads the class-aware calibrated score (off by default)."""
    return bool(getattr(settings, "ACTIVE_LEARNING_CLASS_CALIBRATION", False))


class NotEnoughLabels(Exception):
    """Too few human labels (or classes) to train on yet; the message says what is missing."""


@dataclass
class Trained:
    learner: Learner
    kind: str
    space: LabelSpace
    choice: ThresholdChoice
    training_size: int
    training_accuracy: float
    validation_accuracy: float | None
    seconds: float
    # Open items that may be labeled or reordered: ids, whether nobody holds or answered them,
    # whether they are held out, and the model's class probabilities.
    pool_ids: np.ndarray
    pool_untouched: np.ndarray
    pool_held_out: np.ndarray
    pool_probabilities: np.ndarray  # class probabilities, or each label's (multi-label)
    pool_confidence: np.ndarray  # of the prediction: the class, or the whole set
    # Held-out items still judging thresholds (labeled or not) and the model's confidence.
    held_out_ids: np.ndarray
    held_out_confidence: np.ndarray
    # Their class probabilities (None where the round does not store what it would label).
    held_out_probabilities: np.ndarray | None = None
    # What the threshold was held to: "accuracy" (classes) or "mean-iou" (boxes, masks).
    metric: str = "accuracy"
    target: float | None = None
    # The score the threshold was picked on, when it is not the confidence: the class-aware
    # calibrated chance of being right (``active_learning.calibration``).
    calibration: ClassCalibration | None = None
    pool_score: np.ndarray | None = None
    held_out_score: np.ndarray | None = None

    @property
    def pool_threshold_score(self) -> np.ndarray:
        return self.pool_confidence if self.pool_score is None else self.pool_score

    @property
    def held_out_threshold_score(self) -> np.ndarray:
        return self.held_out_confidence if self.held_out_score is None else self.held_out_score


def learner_kind(job: Job, config: AutoLabeling) -> str:
    if config.learner != LearnerKind.AUTO:
        return config.learner
    if job.task_type in BOX_TASK_TYPES:
        return LearnerKind.IMAGE_DETECTOR
    if job.task_type in MASK_TASK_TYPES:
        return LearnerKind.IMAGE_SEGMENTER
    media = get_task_type(job.task_type).media
    return LearnerKind.IMAGE_CNN if media == "image" else LearnerKind.TEXT_TFIDF


def job_cache_folder(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "active_learning" / f"job_{job_id}"


def _inputs(
    kind: str, job_id: int, ids: list[int], data: dict[int, dict[str, Any]], heartbeat: Heartbeat
):
    if kind == LearnerKind.TEXT_EMBEDDING:
        return learner_module(kind).embed_items(
            cache_file=job_cache_folder(job_id) / "embeddings-minilm.npz",
            texts={item_id: str(data[item_id].get("source", "")) for item_id in ids},
            heartbeat=heartbeat,
        )
    if kind == LearnerKind.IMAGE_CNN:
        refs = {item_id: str(data[item_id].get("source-ref", "")) for item_id in ids}
        found, pixels = load_pixels(
            cache_file=job_cache_folder(job_id) / "pixels-32.npz",
            root=Path(settings.MEDIA_ROOT),
            refs=refs,
        )
        return found, pixels
    texts = [str(data[item_id].get("source", "")) for item_id in ids]
    return np.asarray(ids, np.int64), texts


def _select(inputs, rows: list[int]):
    if isinstance(inputs, np.ndarray):
        return inputs[np.asarray(rows, np.int64)]
    return [inputs[row] for row in rows]


@dataclass
class TrainingSplit:
    """A job's items as a round sees them: the held-out ones still judging thresholds, the
    human labels (label, value), the audited items, the open items (id → taken), and the
    held-out items earlier rounds would have labeled, with that label (None when a marked
    row has none stored: it was marked before labels were kept)."""

    held_out: set[int]
    human: dict[int, tuple[str, Any]]
    audited: set[int]
    open_items: dict[int, int]
    carried: dict[int, tuple[str, Any]] | None = None
    carried_rounds: frozenset[int] = frozenset()


def training_split(job_id: int) -> TrainingSplit:
    # Held-out items an earlier round would have auto-labeled no longer judge thresholds:
    # the items like them are labeled already. They join the training data instead.
    held_out = set(
        HeldOutItem.objects.filter(job_id=job_id, would_label_round__isnull=True).values_list(
            "item_id", flat=True
        )
    )
    human = {
        item_id: (label, value)
        for item_id, label, value in ConsolidatedLabel.objects.filter(
            job_id=job_id, human_annotated=True
        ).values_list("item_id", "label", "value")
    }
    audited = set(
        AutoLabel.objects.filter(job_id=job_id, audit__isnull=False).values_list(
            "item_id", flat=True
        )
    )
    open_items = dict(
        Item.objects.filter(job_id=job_id, status=ItemStatus.OPEN).values_list("pk", "taken")
    )
    marked = list(
        HeldOutItem.objects.filter(job_id=job_id, would_label_round__isnull=False).values_list(
            "item_id", "would_label", "would_label_value", "would_label_round"
        )
    )
    carried: dict[int, tuple[str, Any]] | None = {
        item_id: (label, value) for item_id, label, value, _ in marked
    }
    if any(label == "" for _, label, _, _ in marked):
        carried = None
    rounds = frozenset(number for *_, number in marked)
    return TrainingSplit(held_out, human, audited, open_items, carried, rounds)


@dataclass(frozen=True)
class Carried:
    """What the job's auto-labels so far say on the validation slice: the items they cover
    (labeled by humans), how many of them they got right, and how many rounds gave them."""

    covered: int
    correct: int
    rounds: int

    def alpha(self, alpha: float) -> float:
        return alpha_for_round(alpha, self.rounds)


def carried_judgement(split: TrainingSplit) -> Carried | None:
    """The validation items the job's auto-labels already cover and how many of them those
    labels got right (the labels earlier rounds would have given, against the humans'); None
    when that is unknown (rows marked before the labels were stored)."""
    if split.carried is None:
        return None
    covered = correct = 0
    for item_id, (label, value) in split.carried.items():
        if item_id in split.human:
            covered += 1
            correct += label_key(label, value) == label_key(*split.human[item_id])
    return Carried(covered, correct, len(split.carried_rounds))


def open_predictions_load(job_id: int) -> dict[int, tuple[int, float]]:
    """Item id → (predicted class, confidence) of the last round that predicted it open."""
    path = job_cache_folder(job_id) / OPEN_PREDICTIONS_FILE
    if not path.exists():
        return {}
    with np.load(path) as stored:
        return {
            int(item_id): (int(predicted), float(confidence))
            for item_id, predicted, confidence in zip(
                stored["ids"], stored["predicted"], stored["confidence"], strict=True
            )
        }


def open_predictions_store(
    job_id: int, ids: np.ndarray, predicted: np.ndarray, confidence: np.ndarray
) -> None:
    """Keep this round's predictions of open items beside the earlier ones (replacing an
    item's older prediction); written whole to a new file, then moved into place."""
    kept = open_predictions_load(job_id)
    for item_id, label, score in zip(ids, predicted, confidence, strict=True):
        kept[int(item_id)] = (int(label), float(score))
    folder = job_cache_folder(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    order = sorted(kept)
    # Unique: a worker that lost its lease may still be writing its own.
    partial = folder / f".{OPEN_PREDICTIONS_FILE}.{uuid.uuid4().hex}.partial.npz"
    np.savez(
        partial,
        ids=np.asarray(order, np.int64),
        predicted=np.asarray([kept[i][0] for i in order], np.int64),
        confidence=np.asarray([kept[i][1] for i in order], np.float64),
    )
    partial.replace(folder / OPEN_PREDICTIONS_FILE)


def class_calibration_for_job(
    job_id: int, space: LabelSpace, human: dict[int, Any]
) -> ClassCalibration | None:
    """The class-aware score fitted on earlier rounds' predictions of items humans labeled
    afterwards (no model had trained on them), never on an item of the validation slice;
    None for multi-label jobs or too few such items."""
    if space.multilabel:
        return None
    stored = open_predictions_load(job_id)
    validation_slice = set(
        HeldOutItem.objects.filter(job_id=job_id).values_list("item_id", flat=True)
    )
    pairs = [
        (*stored[item_id], target == stored[item_id][0])
        for item_id, target in human.items()
        if item_id in stored and item_id not in validation_slice
    ]
    if not pairs:
        return None
    predicted, confidence, correct = (np.asarray(column) for column in zip(*pairs, strict=True))
    return class_calibration_fit(
        predicted=predicted, confidence=confidence, correct=correct, classes=len(space.classes)
    )


def model_train(*, job: Job, config: AutoLabeling, heartbeat: Heartbeat) -> Trained:
    """Fit the job's model on its human labels (held-out items apart) and score the rest."""
    started = time.perf_counter()
    space = LabelSpace.for_job(job.task_type, list(job.labels))
    classes = space.classes
    split = training_split(job.pk)
    held_out, audited, open_items = split.held_out, split.audited, split.open_items
    human, machine = {}, {}
    for item_id, (label, value) in split.human.items():
        target = space.target(label, value)
        if target is not None:
            human[item_id] = target
    if train_on_auto_labels():
        for item_id, label, value in ConsolidatedLabel.objects.filter(
            job_id=job.pk, human_annotated=False
        ).values_list("item_id", "label", "value"):
            target = space.target(label, value)
            if target is not None:
                machine[item_id] = target
    human_training = sorted(item_id for item_id in human if item_id not in held_out)
    validation_ids = sorted(item_id for item_id in human if item_id in held_out)
    targets_all = space.targets([human[item_id] for item_id in human_training])
    if len(human_training) < config.min_training_labels or not space.trainable(targets_all):
        present = len(np.unique(targets_all, axis=0)) if len(targets_all) else 0
        raise NotEnoughLabels(
            f"{len(human_training)} human labels of {present} different answers outside the "
            f"validation slice; training needs {config.min_training_labels} of at least 2"
        )
    # Self-training (when on): earlier rounds' auto-labels (right at the target accuracy or
    # better, proven on the validation slice) join the human ones. Uncertainty sampling gives
    # humans the hard items only; the auto-labels give the model the typical ones back.
    target_of = {**machine, **human}
    training_ids = sorted(human_training + [i for i in machine if i not in held_out])
    pool_ids = sorted(open_items)
    wanted = training_ids + validation_ids + pool_ids
    data = {
        item_id: json.loads(text)
        for item_id, text in Item.objects.filter(pk__in=wanted).values_list("pk", "data").iterator()
    }
    kind = learner_kind(job, config)
    learner: Learner = make_learner(kind)
    heartbeat()
    found, inputs = _inputs(kind, job.pk, wanted, data, heartbeat)
    prepare = getattr(learner, "prepare", None)
    if prepare is not None:  # unsupervised fitting on every item (a text vocabulary)
        prepare(inputs)
    position = {int(item_id): index for index, item_id in enumerate(found)}

    def part(ids: list[int]) -> tuple[np.ndarray, Any]:
        """The ids that have inputs (an unreadable image has none), and their inputs."""
        kept = [item_id for item_id in ids if item_id in position]
        return np.asarray(kept, np.int64), _select(inputs, [position[i] for i in kept])

    train_order, train_inputs = part(training_ids)
    targets = space.targets([target_of[int(item_id)] for item_id in train_order])
    learner.fit(train_inputs, targets, len(classes), heartbeat)
    heartbeat()
    # Training accuracy is a diagnostic: a fixed random sample is enough (predicting every
    # training item each round would cost as much as predicting the pool).
    sample = np.random.default_rng(0).permutation(len(targets))[:TRAINING_ACCURACY_SAMPLE]
    training_accuracy = float(
        space.hits(learner.predict_proba(_select(train_inputs, sample)), targets[sample]).mean()
    )
    valid_order, valid_inputs = part(validation_ids)
    valid_probabilities = np.zeros((0, len(classes)))
    valid_confidence = np.zeros(0)
    hits = np.zeros(0, bool)
    validation_accuracy = None
    if len(valid_order):
        valid_probabilities = learner.predict_proba(valid_inputs)
        valid_confidence = space.confidence(valid_probabilities)
        truth = space.targets([human[int(item_id)] for item_id in valid_order])
        hits = space.hits(valid_probabilities, truth)  # multi-label: the exact set
        validation_accuracy = float(hits.mean())
    # The promise is of the job's auto-labels as a whole: the threshold's bound counts the
    # validation items earlier rounds' labels cover (judged by those labels) with the ones
    # this model would add. The whole slice is a random sample of the job's items, so this
    # is the bound of one labeling rule (each item takes the first round's label that
    # clears that round's threshold). A refilled slice is not such a sample: with
    # refill on, or without the earlier labels, each round is judged alone on the unmarked
    # items, like the items still waiting.
    carried = None if config.validation_refill else carried_judgement(split)
    calibrating = class_calibration_on() and not space.multilabel
    calibration = class_calibration_for_job(job.pk, space, human) if calibrating else None
    valid_score = _score(calibration, space, valid_probabilities, valid_confidence)
    choice = select_threshold(
        valid_score,
        hits,
        target=config.target_accuracy,
        alpha=config.alpha if carried is None else carried.alpha(config.alpha),
        carried_covered=0 if carried is None else carried.covered,
        carried_correct=0 if carried is None else carried.correct,
    )
    heartbeat()
    pool_order, pool_inputs = part(pool_ids)
    pool_probabilities = (
        learner.predict_proba(pool_inputs) if len(pool_order) else np.zeros((0, len(classes)))
    )
    pool_confidence = space.confidence(pool_probabilities)
    pool_held = np.asarray([int(i) in held_out for i in pool_order], bool)
    pool_score = _score(calibration, space, pool_probabilities, pool_confidence)
    if calibrating:
        open_predictions_store(
            job.pk,
            pool_order[~pool_held],
            space.predicted(pool_probabilities[~pool_held]),
            pool_confidence[~pool_held],
        )
    return Trained(
        learner=learner,
        kind=kind,
        space=space,
        choice=choice,
        training_size=len(train_order),
        training_accuracy=training_accuracy,
        validation_accuracy=validation_accuracy,
        seconds=time.perf_counter() - started,
        pool_ids=pool_order,
        pool_untouched=np.asarray(
            [open_items[int(i)] == 0 and int(i) not in audited for i in pool_order], bool
        ),
        pool_held_out=pool_held,
        pool_probabilities=pool_probabilities,
        pool_confidence=pool_confidence,
        held_out_ids=np.concatenate([valid_order, pool_order[pool_held]]),
        held_out_confidence=np.concatenate([valid_confidence, pool_confidence[pool_held]]),
        held_out_probabilities=np.concatenate([valid_probabilities, pool_probabilities[pool_held]]),
        calibration=calibration,
        pool_score=None if calibration is None else pool_score,
        held_out_score=(
            None if calibration is None else np.concatenate([valid_score, pool_score[pool_held]])
        ),
    )


def _score(
    calibration: ClassCalibration | None,
    space: LabelSpace,
    probabilities: np.ndarray,
    confidence: np.ndarray,
) -> np.ndarray:
    """What the threshold reads: the calibrated chance of being right, else the confidence."""
    if calibration is None or not len(confidence):
        return confidence
    return calibration.score(space.predicted(probabilities), confidence)
