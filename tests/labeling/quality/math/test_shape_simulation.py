"""Simulated box and span workers: skill orders how close their answers are to the truth."""

import numpy as np

from labeling.consolidation import similarity as sim
from labeling.quality.math.shape_simulation import (
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.task_types import get_task_type

LABELS = ["car", "person", "tree"]


def _rows(answer):
    boxes = answer["annotatedResult"]["boundingBoxes"]
    return (
        np.array([[b["left"], b["top"], b["width"], b["height"]] for b in boxes]).reshape(-1, 4),
        [b["label"] for b in boxes],
    )


def _mean_box_score(skill: float, *, random: bool = False) -> float:
    rng = np.random.default_rng(7)
    items = box_truth(rng, 60, LABELS)
    worker = ShapeWorker(skill, random=random)
    scores = [
        sim.boxes_match(*_rows(item.answer()), *_rows(box_answer(rng, item, worker, LABELS))).score
        for item in items
    ]
    return float(np.mean(scores))


def test_box_workers_skill_orders_their_score():
    perfect, good, poor, chance = (
        _mean_box_score(1.0),
        _mean_box_score(0.9),
        _mean_box_score(0.4),
        _mean_box_score(0.0, random=True),
    )
    assert perfect == 1.0
    assert perfect > good > poor > chance
    assert good > 0.75
    assert chance < 0.1


def test_box_answers_parse_as_the_task_type_takes_them():
    rng = np.random.default_rng(3)
    task_type = get_task_type("image-bounding-box")
    for item in box_truth(rng, 20, LABELS):
        for worker in (ShapeWorker(0.2), ShapeWorker(0.0, random=True)):
            task_type.parse_answer(box_answer(rng, item, worker, LABELS), LABELS)


def _span_rows(answer, labels):
    return [
        [e["startOffset"], e["endOffset"], labels.index(e["label"])] for e in answer["entities"]
    ]


def test_span_workers_skill_orders_their_f1_and_answers_parse():
    labels = ["PER", "ORG"]
    task_type = get_task_type("text-entity-recognition")
    means = []
    for skill, random in ((1.0, False), (0.85, False), (0.3, False), (0.0, True)):
        rng = np.random.default_rng(11)
        worker = ShapeWorker(skill, random=random)
        scores = []
        for item in span_truth(rng, 50, labels):
            answer = span_answer(rng, item, worker, labels)
            parsed = task_type.parse_answer(answer, labels).answer
            task_type.check_answer_for_item(parsed, {"source": item.text})
            scores.append(
                sim.spans_match(_span_rows(item.answer(), labels), _span_rows(parsed, labels)).score
            )
        means.append(float(np.mean(scores)))
    assert means[0] == 1.0
    assert means[0] > means[1] > means[2] > means[3]
    assert means[3] < 0.15
