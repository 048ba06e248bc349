"""Leave-one-out reliability of drawing and span workers of known skill, the weights it gives,
and adaptive overlap's agreement: through the task types' own consolidation and similarity."""

import numpy as np
import pytest

from labeling.consolidation.masks import vote_label_maps
from labeling.consolidation.similarity import label_map_similarity
from labeling.quality.math.shape_reliability import (
    ItemAnswers,
    answers_agreement,
    leave_one_out_reliability,
    reliability_weights,
    shrunk,
    stop_similarity,
)
from labeling.quality.math.shape_simulation import (
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.task_types import get_task_type

LABELS = ["car", "person"]
WIDTH, HEIGHT = 640, 480
# Two workers per level, from sharp to sloppy, then two who ignore the item.
NOISE = (0.02, 0.1, 0.3)
N_WORKERS = 2 * len(NOISE) + 2
PER_ITEM = 5


def _noise(worker: int) -> float | None:
    level = worker // 2
    return NOISE[level] if level < len(NOISE) else None


def _skill_order(reliability: np.ndarray) -> list[float]:
    """Mean reliability per level, sharpest first, random workers last."""
    return [float(reliability[2 * level : 2 * level + 2].mean()) for level in range(N_WORKERS // 2)]


def _queues(rng, n_items):
    return [rng.choice(N_WORKERS, PER_ITEM, replace=False).tolist() for _ in range(n_items)]


def _via_task_type(key: str, items: list[ItemAnswers]):
    kind = get_task_type(key)

    def consolidate(item_data, answers, weights):
        extra = {} if weights is None else {"weights": weights.tolist()}
        return kind.consolidate_answers(answers, LABELS, item_data=item_data, **extra).value

    def similarity(item_data, answer, value):
        return kind.answer_similarity(answer, value, LABELS, item_data=item_data)

    return leave_one_out_reliability(
        items, n_workers=N_WORKERS, consolidate=consolidate, similarity=similarity
    )


def _shape_workers() -> list[ShapeWorker]:
    """The simulator's workers at each noise level (skill 1 - 2 x noise), then random ones."""
    return [
        ShapeWorker(0.0, random=True) if noise is None else ShapeWorker(1 - 2 * noise)
        for noise in map(_noise, range(N_WORKERS))
    ]


def _boxes(rng, n_items=30):
    truth = box_truth(rng, n_items, LABELS)
    skill = _shape_workers()
    return [
        ItemAnswers(queue, [box_answer(rng, item, skill[w], LABELS) for w in queue])
        for item, queue in zip(truth, _queues(rng, n_items), strict=True)
    ]


def _spans(rng, n_items=30):
    truth = span_truth(rng, n_items, LABELS)
    skill = _shape_workers()
    return [
        ItemAnswers(
            queue,
            [span_answer(rng, item, skill[w], LABELS) for w in queue],
            {"source": item.text},
        )
        for item, queue in zip(truth, _queues(rng, n_items), strict=True)
    ]


def _size():
    return {"width": WIDTH, "height": HEIGHT}


def _polygons(rng, n_items=20):
    items = []
    for queue in _queues(rng, n_items):
        x, y = rng.uniform(50, 400), rng.uniform(50, 300)
        w, h = rng.uniform(60, 150, 2)
        corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        answers = []
        for worker in queue:
            noise = _noise(worker)
            if noise is None:
                rx, ry = rng.uniform(0, 500), rng.uniform(0, 380)
                drawn = np.array([[rx, ry], [rx + 80, ry], [rx + 80, ry + 80], [rx, ry + 80]])
            else:
                drawn = corners + rng.normal(0, noise * w, corners.shape)
            drawn = np.clip(drawn, 0, [WIDTH - 1, HEIGHT - 1])
            vertices = [{"x": float(px), "y": float(py)} for px, py in drawn]
            answers.append(
                {
                    "annotatedResult": {
                        "polygons": [{"label": "car", "vertices": vertices}],
                        "inputImageProperties": _size(),
                    }
                }
            )
        items.append(ItemAnswers(queue, answers))
    return items


def _keypoints(rng, n_items=30):
    items = []
    diagonal = np.hypot(WIDTH, HEIGHT)
    for queue in _queues(rng, n_items):
        truth = rng.uniform([20, 20], [WIDTH - 20, HEIGHT - 20], (3, 2))
        answers = []
        for worker in queue:
            noise = _noise(worker)
            if noise is None:
                points = rng.uniform([0, 0], [WIDTH - 1, HEIGHT - 1], (3, 2))
            else:
                points = truth + rng.normal(0, noise * 0.1 * diagonal, truth.shape)
            points = np.clip(points, 0, [WIDTH - 1, HEIGHT - 1])
            answers.append(
                {
                    "annotatedResult": {
                        "keypoints": [
                            {"label": LABELS[i % 2], "x": float(px), "y": float(py)}
                            for i, (px, py) in enumerate(points)
                        ],
                        "inputImageProperties": _size(),
                    }
                }
            )
        items.append(ItemAnswers(queue, answers))
    return items


def _tracks(rng, n_items=20, frames=10):
    items = []
    for queue in _queues(rng, n_items):
        start = rng.uniform([20, 20], [300, 200])
        move = rng.uniform(-10, 10, 2)
        size = rng.uniform(60, 120, 2)
        answers = []
        for worker in queue:
            noise = _noise(worker)
            keyframes = []
            for frame in (0, frames - 1):
                if noise is None:
                    x, y = rng.uniform([0, 0], [500, 350])
                    w, h = 80.0, 80.0
                else:
                    x, y = start + move * frame + rng.normal(0, noise * size, 2)
                    w, h = size * (1 + rng.normal(0, noise, 2))
                x, y = float(np.clip(x, 0, 500)), float(np.clip(y, 0, 350))
                keyframes.append(
                    {"frame": frame, "left": round(x), "top": round(y),
                     "width": max(1, round(w)), "height": max(1, round(h))}
                )  # fmt: skip
            answers.append(
                {
                    "annotatedResult": {
                        "tracks": [{"objectId": "1", "label": "car", "keyframes": keyframes}],
                        "frameCount": frames,
                        "inputImageProperties": _size(),
                    }
                }
            )
        items.append(ItemAnswers(queue, answers))
    return items


@pytest.mark.parametrize(
    ("key", "make"),
    [
        ("image-bounding-box", _boxes),
        ("text-entity-recognition", _spans),
        ("image-polygon", _polygons),
        ("image-keypoint", _keypoints),
        ("video-object-tracking", _tracks),
    ],
)
def test_reliability_ranks_workers_of_known_skill(key, make):
    items = make(np.random.default_rng(7))
    result = _via_task_type(key, items)
    levels = _skill_order(result.reliability)
    assert levels == sorted(levels, reverse=True), levels
    assert levels[0] - levels[-1] > 0.3  # the random workers are far below the sharp ones
    assert result.scored.sum() == sum(len(item.workers) for item in items)


def test_reliability_ranks_label_map_workers_of_known_skill():
    """Semantic segmentation, as the re-estimation runs it: votes on the label maps."""
    rng = np.random.default_rng(3)
    items = []
    for queue in _queues(rng, 30):
        top, left = rng.integers(5, 25, 2)
        answers = []
        for worker in queue:
            noise = _noise(worker)
            shift = (
                rng.integers(0, 40, 2) - [top, left]
                if noise is None
                else np.round(rng.normal(0, noise * 30, 2)).astype(int)
            )
            label_map = np.zeros((48, 48), dtype=np.uint8)
            y, x = np.clip([top, left] + shift, 0, 36)
            label_map[y : y + 12, x : x + 12] = 1
            answers.append(label_map)
        items.append(ItemAnswers(queue, answers))
    result = leave_one_out_reliability(
        items,
        n_workers=N_WORKERS,
        consolidate=lambda _, maps, weights: vote_label_maps(maps, 1, weights)[0],
        similarity=lambda _, answer, voted: label_map_similarity(answer, voted, 1),
    )
    levels = _skill_order(result.reliability)
    assert levels == sorted(levels, reverse=True), levels


def test_few_answers_are_shrunk_toward_the_job_mean():
    """One perfect answer is not trusted like many: the shrinkage pulls it to the mean."""
    items = [ItemAnswers([0, 1], [1.0, 1.0]) for _ in range(20)] + [ItemAnswers([2, 1], [1.0, 1.0])]
    result = leave_one_out_reliability(
        items,
        n_workers=3,
        consolidate=lambda _, answers, weights: answers[0],
        similarity=lambda _, answer, value: 0.9 if answer == value else 0.0,
        rounds=1,
    )
    assert result.agreement.tolist() == pytest.approx([0.9, 0.9, 0.9])
    assert result.scored.tolist() == [20, 21, 1]
    assert result.reliability.tolist() == pytest.approx([0.9, 0.9, 0.9])  # mean is 0.9 too


def test_shrinkage_follows_the_evidence():
    """Empirical Bayes: means that differ no more than their noise all go to the prior; means
    that differ far more than it stay where they are, the less so the fewer answers."""
    rng = np.random.default_rng(0)
    same = rng.normal(0.8, 0.1, (10, 8))  # ten workers alike, eight answers each
    flat = shrunk(same.sum(1), (same**2).sum(1), np.full(10, 8.0), float(same.mean()))
    assert np.ptp(flat) < 0.5 * np.ptp(same.mean(1))
    # Five good workers and five spammers: their means are kept, each by its evidence.
    means = np.array([0.9] * 5 + [0.1] * 5)
    counts = np.array([40.0] * 9 + [2.0])
    scores = [rng.normal(m, 0.1, int(n)) for m, n in zip(means, counts, strict=True)]
    sums = np.array([s.sum() for s in scores])
    squares = np.array([(s**2).sum() for s in scores])
    result = shrunk(sums, squares, counts, float(sums.sum() / counts.sum()))
    assert result[:5] == pytest.approx(sums[:5] / counts[:5], abs=0.01)
    assert result[5] == pytest.approx(sums[5] / counts[5], abs=0.01)
    assert abs(result[9] - sums[9] / 2) > 0.001  # two answers are pulled a little more
    assert np.isnan(shrunk(np.zeros(2), np.zeros(2), np.zeros(2), float("nan"))).all()


@pytest.mark.parametrize(
    ("key", "truth", "answer", "data"),
    [
        ("image-bounding-box", box_truth, box_answer, lambda item: None),
        ("text-entity-recognition", span_truth, span_answer, lambda item: {"source": item.text}),
    ],
)
def test_equally_good_workers_get_about_equal_weights(key, truth, answer, data):
    """Twelve workers of one skill: their leave-one-out agreements differ by noise only, and
    the reliabilities (so the weights) barely differ at all: weighting adds no noise."""
    rng = np.random.default_rng(4)
    kind = get_task_type(key)
    items = truth(rng, 40, LABELS)
    queues = [rng.choice(12, 3, replace=False).tolist() for _ in items]
    answered = [
        ItemAnswers(queue, [answer(rng, item, ShapeWorker(0.85), LABELS) for _ in queue], item)
        for item, queue in zip(items, queues, strict=True)
    ]

    def consolidate(item, answers, weights):
        extra = {} if weights is None else {"weights": weights.tolist()}
        return kind.consolidate_answers(answers, LABELS, item_data=data(item), **extra).value

    result = leave_one_out_reliability(
        answered,
        n_workers=12,
        consolidate=consolidate,
        similarity=lambda item, a, value: kind.answer_similarity(a, value, LABELS),
    )
    assert np.ptp(result.agreement) > 0.05  # the raw agreements do differ
    assert np.ptp(result.reliability) < 0.25 * np.ptp(result.agreement)


def test_a_worker_with_nothing_scored_gets_no_agreement():
    result = leave_one_out_reliability(
        [ItemAnswers([0, 1], ["a", "a"]), ItemAnswers([2], ["a"])],
        n_workers=3,
        consolidate=lambda _, answers, weights: answers[0],
        similarity=lambda _, answer, value: 1.0,
    )
    assert np.isnan(result.agreement[2]) and result.scored[2] == 0
    assert result.reliability[2] == pytest.approx(1.0)  # the job's mean


def test_weights_favour_reliable_workers_and_never_reach_zero():
    weights = reliability_weights([0.9, 0.5, 0.0, np.nan])
    assert weights[0] == pytest.approx(0.9) and weights[1] == pytest.approx(0.5)
    assert weights[2] > 0
    assert weights[3] == pytest.approx((0.9 + 0.5 + 0.0) / 3)  # unknown: the mean


def test_agreement_is_the_weighted_mean_of_the_pairs():
    similarities = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.1], [0.0, 0.1, 1.0]])
    assert answers_agreement(similarities) == pytest.approx((0.9 + 0.0 + 0.1) / 3)
    # A third worker of little weight barely holds up two reliable ones who agree.
    weighted = answers_agreement(similarities, np.array([0.9, 0.9, 0.1]))
    assert weighted > stop_similarity("boxes-iou") > answers_agreement(similarities)
    assert answers_agreement(np.eye(1)) == 0.0


def test_every_drawing_and_span_strategy_has_a_stop_threshold():
    for key in ("image-bounding-box", "text-entity-recognition", "image-polygon",
                "image-keypoint", "image-polyline", "image-line", "image-semantic-segmentation",
                "video-object-tracking", "video-object-detection"):  # fmt: skip
        assert 0.5 <= stop_similarity(get_task_type(key).consolidation) <= 0.9
