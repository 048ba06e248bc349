"""Agreement on drawing and span answers: alpha near 1 for good workers, near 0 for random."""

import numpy as np
import pytest

from labeling.quality.math.shape_agreement import histogram, quantiles, shape_agreement
from labeling.quality.math.shape_simulation import (
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.task_types import get_task_type

BOX_LABELS = ["car", "person", "tree"]
SPAN_LABELS = ["PER", "ORG", "LOC"]


def _crowd(kind: str, skills, *, random=False, n_items=60, seed=1):
    rng = np.random.default_rng(seed)
    if kind == "boxes":
        truth, answer, labels = box_truth(rng, n_items, BOX_LABELS), box_answer, BOX_LABELS
        task_type = get_task_type("image-bounding-box")
    else:
        truth, answer, labels = span_truth(rng, n_items, SPAN_LABELS), span_answer, SPAN_LABELS
        task_type = get_task_type("text-entity-recognition")
    items = [
        (
            number,
            [
                (worker, answer(rng, item, ShapeWorker(skill, random=random), labels))
                for worker, skill in enumerate(skills)
            ],
        )
        for number, item in enumerate(truth)
    ]
    return shape_agreement(items, lambda a, b: task_type.answer_similarity(a, b, labels))


@pytest.mark.parametrize("kind", ["boxes", "spans"])
def test_alpha_is_near_one_for_good_workers_and_near_zero_for_random_ones(kind):
    good = _crowd(kind, [0.95, 0.95, 0.9])
    assert good.alpha > 0.8
    assert good.pairs == 60 * 3 and good.items == 60
    assert good.quantiles["p50"] > 0.8
    random = _crowd(kind, [0.0, 0.0, 0.0], random=True)
    assert abs(random.alpha) < 0.1
    assert random.quantiles["p50"] < 0.2


def test_a_poor_worker_agrees_least_with_the_others():
    result = _crowd("boxes", [0.95, 0.9, 0.2])
    means = {worker: mean for worker, (mean, _) in result.per_worker.items()}
    assert min(means, key=means.get) == 2
    assert result.per_worker[0][1] == 60 * 2  # two pairs per item


def test_identical_answers_agree_perfectly_and_the_figures_are_seeded():
    items = [(i, [(0, float(i)), (1, float(i))]) for i in range(30)]

    def compare(a, b):
        return 1.0 if a == b else 0.0

    result = shape_agreement(items, compare, max_expected_pairs=50, seed=3)
    assert result.alpha == 1.0
    assert result.histogram == [0] * 9 + [30]
    assert result.per_item == {i: 1.0 for i in range(30)}
    again = shape_agreement(items, compare, max_expected_pairs=50, seed=3)
    assert again.expected_disagreement == result.expected_disagreement


def test_nothing_pairable_is_nan():
    result = shape_agreement([(1, [(0, "a")])], lambda a, b: 1.0)
    assert np.isnan(result.alpha) and result.pairs == 0


def test_histogram_and_quantiles():
    assert histogram([0.0, 0.05, 0.5, 1.0]) == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert quantiles([0.0, 1.0])["p50"] == 0.5
    assert quantiles([]) == {}
