"""Training a round's detector or segmenter on a box or mask job's human labels, scoring the
validation slice by IoU and picking the threshold with a mean-IoU bound.

The twin of ``services/training.py`` for box and mask jobs: the same split of the job's items
(held-out slice, human labels, open pool), a different learner, target and threshold. Runs
outside any transaction; ``services/rounds.py`` applies what it returns under the lease.
"""

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from active_learning.iou_threshold import select_iou_threshold
from active_learning.learners.base import Heartbeat
from active_learning.learners.images import load_pixels
from active_learning.learners.registry import make_learner
from active_learning.models import AutoLabeling
from active_learning.services.training import (
    TRAINING_ACCURACY_SAMPLE,
    NotEnoughLabels,
    Trained,
    job_cache_folder,
    learner_kind,
    training_split,
)
from active_learning.shapespace import ShapeAnswer, ShapeSpace, answers_array, mean_iou_target
from labeling.models import Item, Job
from labeling.task_types.auto_labeling import BoxesTarget, MasksTarget
from labeling.task_types.image_segmentation import load_label_map

# The networks see every image at this size (a setting overrides it: smaller is faster).
DEFAULT_IMAGE_SIZE = 64


def shapes_image_size() -> int:
    """The networks' input size: a multiple of four (the detector's grid step), at least 16."""
    size = int(getattr(settings, "ACTIVE_LEARNING_SHAPES_IMAGE_SIZE", DEFAULT_IMAGE_SIZE))
    return max(16, size - size % 4)


def _image_sizes(root: Path, refs: dict[int, str]) -> dict[int, dict[str, int]]:
    """Each readable image's size (its header only)."""
    sizes = {}
    for item_id, ref in refs.items():
        path = (root / ref).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            continue
        try:
            with Image.open(path) as image:
                sizes[item_id] = {"width": image.width, "height": image.height}
        except (UnidentifiedImageError, OSError):
            continue
    return sizes


def _box_rows(value: dict[str, Any], classes: int) -> np.ndarray | None:
    """A consolidated box label as (boxes × 5) rows: class, x, y, w, h in fractions."""
    size = value.get("image_size") if isinstance(value, dict) else None
    boxes = value.get("boxes") if isinstance(value, dict) else None
    if not isinstance(size, dict) or not isinstance(boxes, list):
        return None
    width, height = float(size.get("width") or 0), float(size.get("height") or 0)
    if width <= 0 or height <= 0:
        return None
    rows = [
        [b["class_id"], b["left"] / width, b["top"] / height, b["width"] / width,
         b["height"] / height]
        for b in boxes
        if isinstance(b, dict) and 0 <= int(b.get("class_id", -1)) < classes
    ]  # fmt: skip
    return np.asarray(rows, np.float64).reshape(-1, 5)


def _mask_target(value: dict[str, Any], size: int) -> np.ndarray | None:
    """A consolidated label map at the network's size (nearest neighbour)."""
    ref = value.get("index_ref") if isinstance(value, dict) else None
    if not isinstance(ref, str):
        return None
    try:
        label_map = load_label_map(ref)
    except (OSError, UnidentifiedImageError):
        return None
    small = Image.fromarray(np.asarray(label_map, np.uint8)).resize(
        (size, size), Image.Resampling.NEAREST
    )
    return np.asarray(small, np.uint8)


def _answers(
    learner: Any, space: ShapeSpace, inputs: np.ndarray, sizes: list[dict[str, int]]
) -> list[ShapeAnswer]:
    """The learner's predictions for ``inputs``, in each image's own pixels."""
    if not len(inputs):
        return []
    if space.masks:
        predictions = learner.predict(inputs, [(s["width"], s["height"]) for s in sizes])
        return [
            ShapeAnswer(score=p.score, image_size=size, label_map=p.label_map)
            for p, size in zip(predictions, sizes, strict=True)
        ]
    answers = []
    for p, size in zip(learner.predict(inputs), sizes, strict=True):
        scale = np.array([size["width"], size["height"], size["width"], size["height"]])
        answers.append(
            ShapeAnswer(
                score=p.score,
                image_size=size,
                boxes=p.boxes * scale,
                classes=p.classes,
                box_scores=p.box_scores,
            )
        )
    return answers


def shape_iou(space: ShapeSpace, answer: ShapeAnswer, human_value: dict[str, Any]) -> float:
    """The IoU of a model's answer against a human label: matched boxes with misses and extras
    scoring 0 (classes must agree), or the mean IoU of the classes in either label map."""
    if space.masks:
        truth = load_label_map(human_value["index_ref"])
        predicted = answer.label_map
        if predicted is None or predicted.shape != truth.shape:
            return 0.0
        colors = {label: "" for label in space.classes}  # the class count is what counts
        return MasksTarget().score(
            {"index_map": predicted, "color_map": colors}, {"index_map": truth, "color_map": colors}
        )
    return BoxesTarget().score(space.value(answer), human_value)


def shapes_train(*, job: Job, config: AutoLabeling, heartbeat: Heartbeat) -> Trained:
    """Fit the job's detector or segmenter on its human labels and score the rest."""
    started = time.perf_counter()
    space = ShapeSpace(job.task_type, tuple(job.labels))
    classes = len(space.classes)
    size = shapes_image_size()
    split = training_split(job.pk)
    training_ids = sorted(i for i in split.human if i not in split.held_out)
    validation_ids = sorted(i for i in split.human if i in split.held_out)
    if len(training_ids) < config.min_training_labels:
        raise NotEnoughLabels(
            f"{len(training_ids)} human labels outside the validation slice; training needs "
            f"{config.min_training_labels}"
        )
    pool_ids = sorted(split.open_items)
    wanted = training_ids + validation_ids + pool_ids
    refs = {
        item_id: str(json.loads(text).get("source-ref", ""))
        for item_id, text in Item.objects.filter(pk__in=wanted).values_list("pk", "data").iterator()
    }
    heartbeat()
    found, pixels = load_pixels(
        cache_file=job_cache_folder(job.pk) / f"pixels-{size}.npz",
        root=Path(settings.MEDIA_ROOT),
        refs={item_id: refs[item_id] for item_id in wanted},
        size=size,
    )
    sizes = _image_sizes(Path(settings.MEDIA_ROOT), refs)
    position = {int(item_id): index for index, item_id in enumerate(found) if item_id in sizes}

    def part(ids: list[int]) -> tuple[np.ndarray, np.ndarray, list[dict[str, int]]]:
        kept = [i for i in ids if i in position]
        rows = np.asarray([position[i] for i in kept], np.int64)
        return np.asarray(kept, np.int64), pixels[rows], [sizes[i] for i in kept]

    targets: dict[int, Any] = {}
    for item_id in training_ids:
        value = split.human[item_id][1]
        target = _mask_target(value, size) if space.masks else _box_rows(value, classes)
        if target is not None:
            targets[item_id] = target
    train_order, train_inputs, train_sizes = part([i for i in training_ids if i in targets])
    if len(train_order) < config.min_training_labels:
        raise NotEnoughLabels(
            f"{len(train_order)} readable human labels outside the validation slice; training "
            f"needs {config.min_training_labels}"
        )
    kind = learner_kind(job, config)
    learner = make_learner(kind)
    learner.size = size  # the networks take any size divisible by four
    train_targets = [targets[int(i)] for i in train_order]
    learner.fit(
        train_inputs,
        np.stack(train_targets) if space.masks else train_targets,
        classes,
        heartbeat,
    )
    heartbeat()
    target = mean_iou_target(job.task_type, config.target_mean_iou)
    sample = np.random.default_rng(0).permutation(len(train_order))[:TRAINING_ACCURACY_SAMPLE]
    sample_answers = _answers(
        learner, space, train_inputs[sample], [train_sizes[i] for i in sample]
    )
    training_iou = float(
        np.mean(
            [
                shape_iou(space, answer, split.human[int(train_order[i])][1])
                for answer, i in zip(sample_answers, sample, strict=True)
            ]
        )
    )
    valid_order, valid_inputs, valid_sizes = part(validation_ids)
    valid_answers = _answers(learner, space, valid_inputs, valid_sizes)
    valid_scores = space.confidence(answers_array(valid_answers))
    ious = np.asarray(
        [
            shape_iou(space, answer, split.human[int(item_id)][1])
            for answer, item_id in zip(valid_answers, valid_order, strict=True)
        ],
        np.float64,
    )
    choice = select_iou_threshold(valid_scores, ious, target=target, alpha=config.alpha)
    heartbeat()
    pool_order, pool_inputs, pool_sizes = part(pool_ids)
    pool_answers = answers_array(_answers(learner, space, pool_inputs, pool_sizes))
    pool_confidence = space.confidence(pool_answers)
    pool_held = np.asarray([int(i) in split.held_out for i in pool_order], bool)
    return Trained(
        learner=learner,
        kind=kind,
        space=space,
        choice=choice,
        training_size=len(train_order),
        training_accuracy=training_iou,
        validation_accuracy=float(ious.mean()) if len(ious) else None,
        seconds=time.perf_counter() - started,
        pool_ids=pool_order,
        pool_untouched=np.asarray(
            [split.open_items[int(i)] == 0 and int(i) not in split.audited for i in pool_order],
            bool,
        ),
        pool_held_out=pool_held,
        pool_probabilities=pool_answers,
        pool_confidence=pool_confidence,
        held_out_ids=np.concatenate([valid_order, pool_order[pool_held]]),
        held_out_confidence=np.concatenate([valid_scores, pool_confidence[pool_held]]),
        metric="mean-iou",
        target=target,
    )
