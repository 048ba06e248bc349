"""Adaptive overlap on drawings and spans: stop rules tried against production's (issue 19).

    .venv/bin/python bench/quality_shapes_stops.py [--no-record] [--items N] [--seeds 1,2,3]

The crowds, queues, reliabilities and fixed-overlap curves of ``bench/quality_shapes.py``
(its ``Run``, so the same production functions). Every item's answers are consolidated once
at each overlap 2–5 under the stored weights (reliability from the first third at overlap
5, as the adaptive row there), and each rule is replayed on those: it stops an item at the
first overlap 2, 3 or 4 where it says so, otherwise at 5. Figures as there: quality over the
last two thirds, answers per item, saved at equal quality against weighted fixed overlap.

Rules (each with a small grid; the value is chosen on ``CHOICE_SEEDS`` only by
``quality_shapes.choose``'s rule: of those whose quality, averaged over the crowds, is within
``TOLERANCE`` of weighted fixed overlap 5, the one saving the most; then reported on the
held-out seed and the reported seeds):

- ``agreement``: production's rule, the weighted mean pairwise similarity ≥ t.
- ``every_shape``: that, and every consolidated shape backed by at least a share c of the
  voters' weight (its ``confidence``; an item consolidated to nothing counts 0).
- ``learned``: a ridge regression per overlap k, fitted on the first third's items (the
  reliability window, which has every answer) from what is seen after k answers (weighted
  and plain pairwise agreement, the lowest pair, the answering workers' mean and lowest
  weight, the answers' similarity to the consolidated value, the shapes' lowest and mean
  confidence, the shape count and its spread over answers, the change from k − 1 answers),
  predicting how far the consolidated value after k answers is from the one after 5
  (1 − similarity); stop when the prediction is under t. What a re-estimation could fit from
  a calibration share kept at full overlap.
- ``learned_truth`` (not deployable, a bound): the same model fitted to the true gain in
  quality from k to 5 answers on the first third.
- ``oracle`` (a bound): knows each item's quality at every overlap, stops at the k that
  maximises quality − λ k.
"""

import argparse
import sys
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from quality_shapes import (  # noqa: E402 - sets Django up
    CROWDS,
    FIXED,
    LABELS,
    MAX_WORKERS,
    SEEDS,
    TOLERANCE,
    Run,
    fixed_answers_for,
)

from labeling.quality.math.shape_reliability import (  # noqa: E402
    answers_agreement,
    reliability_weights,
)

CHOICE_SEEDS = (101,)
HELD_OUT_SEEDS = (102,)
STOPS = (2, 3, 4)
RIDGE = 1.0
GRIDS = {
    "agreement": [{"t": t} for t in (0.5, 0.6, 0.7, 0.8, 0.9)],
    "every_shape": [{"t": t, "c": c} for t in (0.6, 0.7, 0.8) for c in (0.5, 0.6, 0.7, 0.8)],
    "learned": [{"t": t} for t in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08)],
    "learned_truth": [{"t": t} for t in (0.0, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06)],
    "oracle": [{"lam": lam} for lam in (0.005, 0.01, 0.015, 0.02, 0.03, 0.04)],
}


def confidences(value: dict) -> list[float]:
    if "boxes" in value:
        return [float(box["confidence"]) for box in value["boxes"]]
    return [float(c) for c in value.get("confidences", [])]


def shape_count(answer: dict) -> int:
    if "annotatedResult" in answer:
        return len(answer["annotatedResult"]["boundingBoxes"])
    if "boxes" in answer:
        return len(answer["boxes"])
    return len(answer["entities"])


def replay_data(task: tuple) -> dict:
    """One crowd, kind and seed: per item and overlap what the rules read, and the curve."""
    kind, crowd, seed, n_items = task
    run = Run(kind, crowd, seed, n_items)
    curve = {k: run.fixed(k, run.reliability(k)) for k in FIXED}
    reliability = run.reliability(MAX_WORKERS)
    items = []
    for i, answers in enumerate(run.answers):
        queue = run.queues[i]
        similarities = np.eye(MAX_WORKERS)
        for a in range(MAX_WORKERS):
            for b in range(a + 1, MAX_WORKERS):
                similarities[a, b] = similarities[b, a] = run.kind.answer_similarity(
                    answers[a], answers[b], LABELS
                )
        values = {
            k: run.consolidate(i, answers[:k], reliability_weights(reliability[queue[:k]]))
            for k in FIXED
        }
        items.append(
            {
                "weights": reliability_weights(reliability[queue]),
                "similarities": similarities,
                "quality": {k: run.score(i, values[k]) for k in FIXED},
                "to_value": {
                    k: [run.kind.answer_similarity(answers[j], values[k], LABELS) for j in range(k)]
                    for k in FIXED
                },
                "between": {
                    (a, b): run.kind.answer_similarity(values[a], values[b], LABELS)
                    for a in FIXED
                    for b in FIXED
                    if a < b
                },
                "confidences": {k: confidences(values[k]) for k in FIXED},
                "count": {k: shape_count(values[k]) for k in FIXED},
                "answer_counts": [shape_count(a) for a in answers],
            }
        )
        items[-1]["features"] = {k: features(items[-1], k) for k in STOPS}
    return {"curve": curve, "items": items, "calibration": run.calibration}


def agreement(item: dict, k: int) -> float:
    return answers_agreement(item["similarities"][:k, :k], item["weights"][:k])


def features(item: dict, k: int) -> np.ndarray:
    if "features" in item:
        return item["features"][k]
    pairs = item["similarities"][:k, :k][np.triu_indices(k, 1)]
    weights = item["weights"][:k]
    to_value = np.array(item["to_value"][k])
    conf = np.array(item["confidences"][k] or [0.0])
    counts = np.array(item["answer_counts"][:k], dtype=float)
    return np.array(
        [
            agreement(item, k),
            pairs.min(),
            pairs.mean(),
            weights.mean(),
            weights.min(),
            (to_value * weights).sum() / weights.sum(),
            to_value.min(),
            conf.min(),
            conf.mean(),
            item["count"][k],
            counts.std() / max(counts.mean(), 1.0),
            item["between"][(k - 1, k)] if k > 2 else 1.0,
        ]
    )


def ridge(x: np.ndarray, y: np.ndarray):
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    penalty = RIDGE * np.diag([0.0] + [1.0] * (z.shape[1] - 1))
    beta = np.linalg.solve(z.T @ z + penalty, z.T @ y)
    return lambda row: float(beta[0] + ((row - mean) / scale) @ beta[1:])


def learned_models(data: dict, target: str) -> dict:
    window = data["items"][: data["calibration"]]
    models = {}
    for k in STOPS:
        x = np.array([features(item, k) for item in window])
        if target == "truth":
            y = np.array([item["quality"][MAX_WORKERS] - item["quality"][k] for item in window])
        else:
            y = np.array([1.0 - item["between"][(k, MAX_WORKERS)] for item in window])
        models[k] = ridge(x, y)
    return models


def stopping_overlaps(rule: str, params: dict, data: dict) -> list[int]:
    items = data["items"][data["calibration"] :]
    if rule == "oracle":
        return [
            max(FIXED, key=lambda k, it=item: it["quality"][k] - params["lam"] * k)
            for item in items
        ]
    if rule.startswith("learned"):
        models = learned_models(data, "truth" if rule == "learned_truth" else "final")

        def stops(item, k):
            return models[k](features(item, k)) < params["t"]
    elif rule == "every_shape":

        def stops(item, k):
            conf = item["confidences"][k]
            return agreement(item, k) >= params["t"] and (min(conf) if conf else 0.0) >= params["c"]
    else:

        def stops(item, k):
            return agreement(item, k) >= params["t"]

    return [next((k for k in STOPS if stops(item, k)), MAX_WORKERS) for item in items]


def figures_of(rule: str, params: dict, data: dict) -> dict:
    items = data["items"][data["calibration"] :]
    overlaps = stopping_overlaps(rule, params, data)
    quality = float(np.mean([item["quality"][k] for item, k in zip(items, overlaps, strict=True)]))
    spent = float(np.mean(overlaps))
    needed = fixed_answers_for(quality, data["curve"])
    return {
        "quality": round(quality, 4),
        "answers_per_item": round(spent, 3),
        "saved_at_equal_quality": round(1 - spent / needed, 4),
        "quality_minus_fixed_max_weighted": round(quality - data["curve"][MAX_WORKERS], 4),
    }


def over_crowds(rule: str, params: dict, runs: list[dict]) -> dict:
    rows = [figures_of(rule, params, data) for data in runs]
    saved = [row["saved_at_equal_quality"] for row in rows]
    return {
        "params": params,
        "mean_saved": round(float(np.mean(saved)), 4),
        "min_saved": min(saved),
        "max_saved": max(saved),
        "mean_quality_minus_fixed_5": round(
            float(np.mean([row["quality_minus_fixed_max_weighted"] for row in rows])), 4
        ),
        "mean_answers": round(float(np.mean([row["answers_per_item"] for row in rows])), 3),
    }


def choose(rule: str, runs: list[dict]) -> dict:
    table = [over_crowds(rule, params, runs) for params in GRIDS[rule]]
    allowed = [row for row in table if row["mean_quality_minus_fixed_5"] >= -TOLERANCE]
    if not allowed:  # none within the tolerance: the one closest to fixed overlap 5
        return max(table, key=lambda row: row["mean_quality_minus_fixed_5"])["params"]
    return max(allowed, key=lambda row: row["mean_saved"])["params"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--kinds", default="boxes,spans")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    kinds = args.kinds.split(",")
    all_seeds = [*CHOICE_SEEDS, *HELD_OUT_SEEDS, *seeds]
    tasks = [
        (kind, crowd, seed, args.items) for kind in kinds for seed in all_seeds for crowd in CROWDS
    ]
    with Pool(args.processes) as pool:
        replayed = dict(zip(tasks, pool.map(replay_data, tasks), strict=True))
    results: dict = {}
    for kind in kinds:
        results[kind] = {}
        for rule in GRIDS:
            print(f"{kind}: {rule}", file=sys.stderr)

            def runs(of_seeds, kind=kind):
                return [replayed[(kind, c, s, args.items)] for s in of_seeds for c in CROWDS]

            params = choose(rule, runs(CHOICE_SEEDS))
            results[kind][rule] = {
                "chosen": params,
                "choice_seed": over_crowds(rule, params, runs(CHOICE_SEEDS)),
                "held_out_seed": over_crowds(rule, params, runs(HELD_OUT_SEEDS)),
                "reported_seeds": over_crowds(rule, params, runs(seeds)),
                "per_crowd_reported": {
                    crowd: [
                        figures_of(rule, params, replayed[(kind, crowd, s, args.items)])
                        for s in seeds
                    ]
                    for crowd in CROWDS
                },
            }
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    parts = []
    for kind, rules in results.items():  # one cell per rule
        cells = [
            f"{rule} {r['chosen']}: {r['reported_seeds']['mean_saved']:.1%} "
            f"({r['reported_seeds']['min_saved']:.1%}–{r['reported_seeds']['max_saved']:.1%}) "
            f"at {r['reported_seeds']['mean_quality_minus_fixed_5']:+.4f} vs fixed 5; "
            f"held-out {r['held_out_seed']['mean_saved']:.1%}"
            for rule, r in rules.items()
        ]
        parts.append(
            f"**{kind}** saved at equal quality, mean over crowds × seeds: " + "; ".join(cells)
        )
    figures = {
        "items": args.items,
        "seeds": seeds,
        "choice_seeds": list(CHOICE_SEEDS),
        "held_out_seeds": list(HELD_OUT_SEEDS),
        "tolerance": TOLERANCE,
        "grids": GRIDS,
        "results": results,
        "machine": machine() + " (shared with other engineers' runs)",
        "code": git_commit(),
    }
    record(command_line(), " — ".join(parts), figures, write=not args.no_record)


if __name__ == "__main__":
    main()
