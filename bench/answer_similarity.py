"""Drawing and span answers compared, CPU only: what scoring a gold answer adds to a submit
and what the quality page's agreement read costs (issue 19).

No server: the task types' ``answer_similarity`` on answers of typical size (label maps are
written to a temporary MEDIA_ROOT, as a submit stores them, and read from it by every
comparison, as a submit's gold score does), median of several rounds; then
``shape_agreement`` over the 300 items the quality page reads (3 answers each) for boxes and
spans (100 for polygons and label maps, as the page reads). Prints one JSON object;
appends a row to RESULTS.md unless --no-record.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from _harness import command_line, git_commit, record  # noqa: E402
from _probes import machine  # noqa: E402
from django.conf import settings  # noqa: E402

from labeling.quality.math.shape_agreement import (  # noqa: E402
    MAX_EXPECTED_PAIRS,
    shape_agreement,
)
from labeling.quality.math.shape_simulation import (  # noqa: E402
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.quality.selectors import (  # noqa: E402
    SHAPE_AGREEMENT_ITEMS,
    SHAPE_AGREEMENT_ITEMS_HEAVY,
    SHAPE_EXPECTED_PAIRS_HEAVY,
)
from labeling.task_types import get_task_type  # noqa: E402
from labeling.task_types.compared import label_maps_cached  # noqa: E402
from labeling.task_types.image_segmentation import save_label_png  # noqa: E402

ROUNDS = 7
SIZE = {"width": 640, "height": 480}


def _timed(function, repeat: int) -> float:
    """Median microseconds per call over ROUNDS rounds of ``repeat`` calls."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(repeat):
            function()
        rounds.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(rounds)


def _answers(rng: np.random.Generator) -> dict[str, tuple[list[str], dict, dict]]:
    labels = ["car", "person", "tree"]
    boxes = box_truth(rng, 1, labels, max_objects=5)[0]
    worker = ShapeWorker(0.8)
    cases = {
        "image-bounding-box": (labels, boxes.answer(), box_answer(rng, boxes, worker, labels)),
    }

    def polygon(x: float, y: float, jitter: float) -> list[dict]:
        angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        return [
            {
                "x": round(float(x + 40 * np.cos(a) + jitter), 2),
                "y": round(float(y + 40 * np.sin(a)), 2),
            }
            for a in angles
        ]

    centres = rng.uniform(60, 400, (5, 2))
    polygons = [
        {
            "annotatedResult": {
                "polygons": [{"label": "car", "vertices": polygon(x, y, j)} for x, y in centres],
                "inputImageProperties": SIZE,
            }
        }
        for j in (0, 6)
    ]
    cases["image-polygon"] = (labels, *polygons)
    points = rng.uniform(0, 400, (10, 2))
    keypoints = [
        {
            "annotatedResult": {
                "keypoints": [
                    {"label": "car", "x": float(x + j), "y": float(y)} for x, y in points
                ],
                "inputImageProperties": SIZE,
            }
        }
        for j in (0, 5)
    ]
    cases["image-keypoint"] = (labels, *keypoints)
    text_labels = ["PER", "ORG", "LOC"]
    item = span_truth(rng, 1, text_labels, n_words=400, max_entities=8)[0]
    cases["text-entity-recognition"] = (
        text_labels,
        item.answer(),
        span_answer(rng, item, worker, text_labels),
    )
    tracks = [
        {
            "annotatedResult": {
                "tracks": [
                    {
                        "objectId": t,
                        "label": "car",
                        "keyframes": [
                            {
                                "frame": f,
                                "left": 10 + 3 * f + j,
                                "top": 40 * t,
                                "width": 50,
                                "height": 30,
                            }
                            for f in range(0, 100, 10)
                        ],
                    }
                    for t in range(3)
                ],
                "frameCount": 100,
                "inputImageProperties": SIZE,
            }
        }
        for j in (0, 5)
    ]
    cases["video-object-tracking"] = (labels, *tracks)
    maps = []
    for shift in (0, 20):
        index_map = np.zeros((480, 640), dtype=np.uint8)
        index_map[100 + shift : 300 + shift, 100:400] = 1
        index_map[350:450, 50 + shift : 250 + shift] = 2
        maps.append(
            {
                "crowd-semantic-segmentation": {
                    "inputImageProperties": SIZE,
                    "labeledImage": {"ref": save_label_png(index_map, "L", "bench-")},
                }
            }
        )
    cases["image-semantic-segmentation"] = (labels, *maps)
    return cases


def _octagon(rng: np.random.Generator, x: float, y: float, jitter: float) -> list[dict]:
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    return [
        {
            "x": round(float(np.clip(x + 40 * np.cos(a) + rng.normal(0, jitter), 0, 639)), 2),
            "y": round(float(np.clip(y + 40 * np.sin(a) + rng.normal(0, jitter), 0, 479)), 2),
        }
        for a in angles
    ]


def _heavy_items(kind: str, rng: np.random.Generator, n_items: int) -> list:
    """Items of three answers each for the types the quality page reads fewer of."""
    items = []
    for n in range(n_items):
        answers = []
        if kind == "polygons":
            centres = rng.uniform(60, 420, (4, 2))
            for worker in range(3):
                shapes = [
                    {"label": "car", "vertices": _octagon(rng, x, y, 2 + 3 * worker)}
                    for x, y in centres
                ]
                answers.append(
                    (
                        worker,
                        {"annotatedResult": {"polygons": shapes, "inputImageProperties": SIZE}},
                    )
                )
        else:
            top = int(rng.integers(50, 250))
            for worker in range(3):
                index_map = np.zeros((480, 640), dtype=np.uint8)
                shift = int(rng.integers(-10, 10))
                index_map[top + shift : top + 150 + shift, 100:400] = 1
                index_map[350:450, 50 + shift : 250 + shift] = 2
                ref = save_label_png(index_map, "L", "bench-")
                answers.append(
                    (
                        worker,
                        {
                            "crowd-semantic-segmentation": {
                                "inputImageProperties": SIZE,
                                "labeledImage": {"ref": ref},
                            }
                        },
                    )
                )
        items.append((n, answers))
    return items


def _agreement_seconds(kind: str, rng: np.random.Generator) -> tuple[float, float, int]:
    """Seconds to read agreement as the quality page does (300 items x 3 answers, 1,000
    chance pairs; 100 items and 300 pairs for the heavy types), and the alpha it found."""
    expected = MAX_EXPECTED_PAIRS
    if kind == "boxes":
        labels = ["car", "person", "tree"]
        truth, answer = box_truth(rng, SHAPE_AGREEMENT_ITEMS, labels), box_answer
        task_type = get_task_type("image-bounding-box")
    elif kind == "spans":
        labels = ["PER", "ORG", "LOC"]
        truth, answer = span_truth(rng, SHAPE_AGREEMENT_ITEMS, labels), span_answer
        task_type = get_task_type("text-entity-recognition")
    else:
        labels = ["car", "person", "tree"]
        key = "image-polygon" if kind == "polygons" else "image-semantic-segmentation"
        task_type = get_task_type(key)
        items = _heavy_items(kind, rng, SHAPE_AGREEMENT_ITEMS_HEAVY)
        expected = SHAPE_EXPECTED_PAIRS_HEAVY
    if kind in ("boxes", "spans"):
        skills = (0.95, 0.85, 0.6)
        items = [
            (n, [(w, answer(rng, item, ShapeWorker(s), labels)) for w, s in enumerate(skills)])
            for n, item in enumerate(truth)
        ]
    start = time.perf_counter()
    with label_maps_cached():  # as the quality page reads
        result = shape_agreement(
            items,
            lambda a, b: task_type.answer_similarity(a, b, labels),
            max_expected_pairs=expected,
        )
    return time.perf_counter() - start, result.alpha, len(items)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(19)
    with tempfile.TemporaryDirectory() as media:
        settings.MEDIA_ROOT = Path(media)
        compare_us = {}
        for key, (labels, a, b) in _answers(rng).items():
            task_type = get_task_type(key)
            repeat = 20 if key == "image-semantic-segmentation" else 200
            compare_us[key] = round(
                _timed(
                    lambda t=task_type, a=a, b=b, n=labels: t.answer_similarity(a, b, n), repeat
                ),
                1,
            )
        agreement = {}
        for kind in ("boxes", "spans", "polygons", "segmentation"):
            seconds, alpha, n_items = _agreement_seconds(kind, rng)
            agreement[kind] = {
                "items": n_items,
                "seconds": round(seconds, 3),
                "alpha": round(alpha, 3),
            }
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "compare_microseconds": compare_us,
        "agreement_read": agreement,
    }
    summary = (
        "one answer_similarity (µs, median of 7 rounds): "
        + ", ".join(f"{key} {value}" for key, value in compare_us.items())
        + "; the quality page's agreement read (items × 3 answers): "
        + ", ".join(
            f"{kind} {value['items']} items {value['seconds']} s (alpha {value['alpha']})"
            for kind, value in agreement.items()
        )
    )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main(sys.argv[1:])
