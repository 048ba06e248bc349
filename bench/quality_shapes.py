"""Drawing and span jobs: plain against reliability-weighted consolidation, and adaptive
overlap against fixed overlap, on simulated crowds of known skill (issue 19).

    .venv/bin/python bench/quality_shapes.py [--no-record] [--items N] [--seeds 1,2,3]

No server, no database: every figure goes through the functions production calls — the task
types' ``consolidate_answers`` (boxes: ``image-bounding-box``; spans:
``text-entity-recognition``) with and without weights, their ``answer_similarity``, the
re-estimation's ``leave_one_out_reliability`` and ``reliability_weights``, and adaptive
overlap's ``answers_agreement``, ``stop_similarity`` and ``OverlapPolicy``. Workers come
from ``labeling/quality/math/shape_simulation.py`` (q19-gold's simulator: jitter, misses,
wrong labels, extras scaled by a skill; random workers who ignore the item).

Per crowd and seed: ``ITEMS`` items, a pool of ``POOL`` workers; every item has a queue of
``MAX_WORKERS`` distinct workers drawn at random, and every method sees the same queue.
Reliability is estimated as the job's re-estimation does, on the first third of the items
(their answers at the method's overlap); the figures are over the other two thirds, which a
job consolidates after that re-estimation. Accuracy is the similarity of the consolidated
value to the truth by the task type's own measure: mean matched IoU for boxes (Σ IoU of
matched boxes / the larger count, so misses and extras cost), span soft F1 for entities.

Adaptive overlap: ``MIN_WORKERS`` answers, then one more while the answers' weighted mean
pairwise similarity is under the type's threshold, up to ``MAX_WORKERS``; consolidated with
the weights. Compared with fixed overlap ``MAX_WORKERS`` (weighted, the same consolidation):
answers saved, and the quality difference ("equal quality": within ``TOLERANCE``).
"""

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from labeling.quality.math.adaptive import OverlapPolicy  # noqa: E402
from labeling.quality.math.shape_reliability import (  # noqa: E402
    ItemAnswers,
    answers_agreement,
    leave_one_out_reliability,
    reliability_weights,
    stop_similarity,
)
from labeling.quality.math.shape_simulation import (  # noqa: E402
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.task_types import get_task_type  # noqa: E402

ITEMS = 300
POOL = 40
MIN_WORKERS, MAX_WORKERS = 2, 5
FIXED = (2, 3, 4, 5)
TOLERANCE = 0.01
LABELS = ["car", "person", "sign"]
SEEDS = (1, 2, 3)
# The threshold of adaptive overlap is chosen on these seeds only (rule in ``choose``).
CHOICE_SEEDS = (101,)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
# Crowds "… varied items": a share of the items is hard (every worker's error on it times
# HARD_FACTOR, capped at a skill of 0), the others easy (error times EASY_FACTOR).
HARD_SHARE, HARD_FACTOR, EASY_FACTOR = 0.3, 2.0, 0.4

# Crowd name -> list of (share of the pool, skill range or None for a random worker).
CROWDS = {
    "all good": [(1.0, (0.8, 0.95))],
    "mixed skill": [(1.0, (0.4, 0.95))],
    "few spammers": [(0.85, (0.7, 0.95)), (0.15, None)],
    "many spammers": [(0.6, (0.7, 0.95)), (0.4, None)],
    "sloppy and spammers": [(0.3, (0.8, 0.95)), (0.4, (0.3, 0.6)), (0.3, None)],
    "mixed skill, varied items": [(1.0, (0.4, 0.95))],
    "few spammers, varied items": [(0.85, (0.7, 0.95)), (0.15, None)],
}
KINDS = {
    "boxes": ("image-bounding-box", box_truth, box_answer),
    "spans": ("text-entity-recognition", span_truth, span_answer),
}


def pool(rng: np.random.Generator, crowd: list) -> list[ShapeWorker]:
    workers = []
    for share, skills in crowd:
        for _ in range(round(share * POOL)):
            if skills is None:
                workers.append(ShapeWorker(0.0, random=True))
            else:
                workers.append(ShapeWorker(float(rng.uniform(*skills))))
    return workers


def on_item(worker: ShapeWorker, factor: float) -> ShapeWorker:
    """The worker on an item whose difficulty multiplies their error by ``factor``."""
    if worker.random or factor == 1.0:
        return worker
    return ShapeWorker(max(0.0, 1.0 - worker.error * factor))


class Run:
    """One crowd, one kind, one seed: the queues of answers every method reads."""

    def __init__(self, kind: str, crowd: list, seed: int, n_items: int):
        key, make_truth, make_answer = KINDS[kind]
        rng = np.random.default_rng(seed)
        self.kind = get_task_type(key)
        self.truth = make_truth(rng, n_items, LABELS)
        self.workers = pool(rng, CROWDS[crowd] if isinstance(crowd, str) else crowd)
        self.queues = [
            rng.choice(len(self.workers), MAX_WORKERS, replace=False) for _ in self.truth
        ]
        varied = "varied items" in crowd
        factors = np.where(rng.random(n_items) < HARD_SHARE, HARD_FACTOR, EASY_FACTOR)
        self.answers = [
            [
                make_answer(rng, item, on_item(self.workers[w], factor if varied else 1.0), LABELS)
                for w in queue
            ]
            for item, queue, factor in zip(self.truth, self.queues, factors, strict=True)
        ]
        self.data = [{"source": getattr(item, "text", "")} for item in self.truth]
        self.calibration = n_items // 3

    def consolidate(self, index: int, answers: list, weights) -> dict:
        extra = {} if weights is None else {"weights": list(map(float, weights))}
        return self.kind.consolidate_answers(
            answers, LABELS, item_data=self.data[index], **extra
        ).value

    def score(self, index: int, value: dict) -> float:
        """Similarity of a consolidated value to the truth (mean IoU / span F1)."""
        return self.kind.answer_similarity(value, self.truth[index].answer(), LABELS)

    def reliability(self, k: int) -> np.ndarray:
        """Per worker of the pool, the reliability the re-estimation stores from the first
        third of the items at overlap k."""
        items = [
            ItemAnswers(list(self.queues[i][:k]), self.answers[i][:k], i)
            for i in range(self.calibration)
        ]
        result = leave_one_out_reliability(
            items,
            n_workers=len(self.workers),
            consolidate=self.consolidate,
            similarity=lambda i, answer, value: self.kind.answer_similarity(answer, value, LABELS),
        )
        # A worker with no answer in the calibration counts as the job's mean.
        return np.where(np.isnan(result.agreement), result.job_mean, result.reliability)

    def fixed(self, k: int, reliability: np.ndarray | None) -> float:
        scores = []
        for i in range(self.calibration, len(self.truth)):
            weights = (
                None
                if reliability is None
                else reliability_weights(reliability[self.queues[i][:k]])
            )
            scores.append(self.score(i, self.consolidate(i, self.answers[i][:k], weights)))
        return float(np.mean(scores))

    def adaptive(self, reliability: np.ndarray, threshold: float) -> tuple[float, float]:
        """(quality, mean answers per item) of adaptive overlap under the stored weights."""
        policy = OverlapPolicy(MIN_WORKERS, MAX_WORKERS, threshold)
        scores, spent = [], []
        for i in range(self.calibration, len(self.truth)):
            taken = MIN_WORKERS
            while True:
                answers = self.answers[i][:taken]
                weights = reliability_weights(reliability[self.queues[i][:taken]])
                similarities = np.eye(taken)
                for a in range(taken):
                    for b in range(a + 1, taken):
                        similarities[a, b] = similarities[b, a] = self.kind.answer_similarity(
                            answers[a], answers[b], LABELS
                        )
                if policy.is_done(taken, answers_agreement(similarities, weights)):
                    break
                taken += 1
            scores.append(self.score(i, self.consolidate(i, answers, weights)))
            spent.append(taken)
        return float(np.mean(scores)), float(np.mean(spent))


def fixed_answers_for(quality: float, curve: dict[int, float]) -> float:
    """The answers per item fixed overlap needs for ``quality``, linear between the measured
    overlaps (the best of them below it; ``MAX_WORKERS`` when even that one falls short)."""
    ks = sorted(curve)
    best = np.maximum.accumulate([curve[k] for k in ks])
    if quality <= best[0]:
        return float(ks[0])
    for index in range(len(ks) - 1):
        (k0, q0), (k1, q1) = (ks[index], best[index]), (ks[index + 1], best[index + 1])
        if q0 < quality <= q1:
            return float(k0 + (quality - q0) / (q1 - q0) * (k1 - k0))
    return float(ks[-1])


def adaptive_figures(run: "Run", reliability: np.ndarray, threshold: float, out: dict) -> dict:
    quality, spent = run.adaptive(reliability, threshold)
    curve = {k: out[f"weighted_{k}"] for k in FIXED}
    needed = fixed_answers_for(quality, curve)
    return {
        "threshold": threshold,
        "quality": round(quality, 4),
        "answers_per_item": round(spent, 3),
        "fixed_answers_at_equal_quality": round(needed, 3),
        "saved_at_equal_quality": round(1 - spent / needed, 4),
        "saved_vs_fixed_max": round(1 - spent / MAX_WORKERS, 4),
        "quality_minus_fixed_max_weighted": round(quality - out[f"weighted_{MAX_WORKERS}"], 4),
    }


def measure(kind: str, crowd: str, seed: int, n_items: int, thresholds=None) -> dict:
    run = Run(kind, crowd, seed, n_items)
    out: dict = {}
    for k in FIXED:
        reliability = run.reliability(k)
        out[f"plain_{k}"] = round(run.fixed(k, None), 4)
        out[f"weighted_{k}"] = round(run.fixed(k, reliability), 4)
    reliability = run.reliability(MAX_WORKERS)
    if thresholds is not None:  # choosing: every threshold of the grid
        out["grid"] = {t: adaptive_figures(run, reliability, t, out) for t in thresholds}
        return out
    out["adaptive"] = adaptive_figures(
        run, reliability, stop_similarity(run.kind.consolidation), out
    )
    return out


def choose(kind: str, n_items: int) -> tuple[float, list]:
    """The threshold, on ``CHOICE_SEEDS`` only: of the grid, those whose quality, averaged over
    the crowds, is within ``TOLERANCE`` of weighted fixed overlap ``MAX_WORKERS``, the one that
    saves the most answers at equal quality, averaged over the crowds (ties: the higher)."""
    rows = [
        measure(kind, crowd, seed, n_items, thresholds=THRESHOLDS)
        for crowd in CROWDS
        for seed in CHOICE_SEEDS
    ]
    table = []
    for threshold in THRESHOLDS:
        figures = [row["grid"][threshold] for row in rows]
        table.append(
            {
                "threshold": threshold,
                "within_tolerance": float(
                    np.mean([f["quality_minus_fixed_max_weighted"] for f in figures])
                )
                >= -TOLERANCE,
                "worst_saved_at_equal_quality": min(f["saved_at_equal_quality"] for f in figures),
                "mean_saved_at_equal_quality": round(
                    float(np.mean([f["saved_at_equal_quality"] for f in figures])), 4
                ),
            }
        )
    allowed = [row for row in table if row["within_tolerance"]] or table[-1:]
    best = max(allowed, key=lambda row: (row["mean_saved_at_equal_quality"], row["threshold"]))
    return best["threshold"], table


def summarise(figures: dict) -> str:
    parts = []
    for kind, crowds in figures["results"].items():
        rows = []
        for crowd, f in crowds.items():
            a = f["adaptive"]
            rows.append(
                f"{crowd}: plain→weighted k=3 {f['plain_3']}→{f['weighted_3']}, "
                f"k=5 {f['plain_5']}→{f['weighted_5']}; adaptive {a['answers_per_item']} ans "
                f"({a['saved_vs_fixed_max']:.0%} fewer than 5) at {a['quality']} "
                f"({a['quality_minus_fixed_max_weighted']:+.3f} vs weighted 5)"
            )
        metric = "mean IoU" if kind == "boxes" else "span F1"
        parts.append(f"**{kind}** ({metric}, mean of seeds) " + "; ".join(rows))
    return " — ".join(parts)


def mean_of_seeds(per_seed: list[dict]) -> dict:
    def mean(values):
        return round(float(np.mean(values)), 4)

    out = {key: mean([s[key] for s in per_seed]) for key in per_seed[0] if key != "adaptive"}
    out["adaptive"] = {
        key: mean([s["adaptive"][key] for s in per_seed]) for key in per_seed[0]["adaptive"]
    }
    out["weighted_at_least_plain_every_seed"] = all(
        s[f"weighted_{k}"] >= s[f"plain_{k}"] for s in per_seed for k in FIXED
    )
    out["seeds"] = per_seed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--skip-choice", action="store_true", help="don't replay the threshold's choice"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {}
    choice: dict = {}
    for kind in args.kinds.split(","):
        if not args.skip_choice:
            print(f"{kind}: choosing the threshold on seeds {CHOICE_SEEDS}", file=sys.stderr)
            chosen, table = choose(kind, args.items)
            production = stop_similarity(get_task_type(KINDS[kind][0]).consolidation)
            choice[kind] = {"chosen": chosen, "in_production": production, "table": table}
        results[kind] = {}
        for crowd in CROWDS:
            print(f"{kind}: {crowd}", file=sys.stderr)
            per_seed = [measure(kind, crowd, seed, args.items) for seed in seeds]
            results[kind][crowd] = mean_of_seeds(per_seed)
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    figures = {
        "items": args.items,
        "pool": POOL,
        "seeds": seeds,
        "min_workers": MIN_WORKERS,
        "max_workers": MAX_WORKERS,
        "tolerance": TOLERANCE,
        "crowds": {name: [[s, r] for s, r in crowd] for name, crowd in CROWDS.items()},
        "choice": choice,
        "results": results,
        "machine": machine() + " (shared with other engineers' runs)",
        "code": git_commit(),
    }
    record(command_line(), summarise(figures), figures, write=not args.no_record)


if __name__ == "__main__":
    main()
