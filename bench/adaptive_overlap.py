"""Answers spent and accuracy: fixed overlap 3 and 5 against adaptive overlap.

    .venv/bin/python bench/adaptive_overlap.py [--no-record]

Simulation: 20,000 items, 4 classes, 150 workers whose accuracies are drawn around 0.7
(some near chance, some confusing particular classes; ``labeling.quality.simulation``).
Fixed overlap k: every item gets k answers, consolidated by EM. Adaptive: every item gets
``min`` answers; then, round after round, EM runs on all answers so far (as the app's Celery
task does) and each item whose posterior confidence is below the target gets one more
answer from a worker it has not had, until it reaches ``max``.

Real data (``/work/shared/data/crowd/``, about 10 answers per item): each item's answers are
put in a random (seeded) order and revealed one by one in the same way; fixed k takes the
first k. Accuracy is against the expert truth.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from consolidation import CROWD_DATA, read_answers  # noqa: E402

from labeling.consolidation.dawid_skene import dawid_skene  # noqa: E402
from labeling.quality.adaptive import OverlapPolicy  # noqa: E402
from labeling.quality.simulation import make_crowd  # noqa: E402

POLICY = OverlapPolicy(min_workers=2, max_workers=7, target_confidence=0.95)
SIMULATION = {"n_items": 20_000, "n_workers": 150, "n_classes": 4}
SEEDS = (11, 12, 13)


def _em(items, workers, answers, n_items, n_workers, n_classes):
    return dawid_skene(
        items, workers, answers, n_items=n_items, n_workers=n_workers, n_classes=n_classes
    )


def run_with_queues(queue_workers, queue_answers, truth, n_workers, n_classes, policy):
    """``queue_*`` are (n_items, depth) arrays: the answers each item would get, in order.

    Returns the figures of fixed 3, fixed 5 and adaptive overlap over the same queues, so
    every method sees the very same answers.
    """
    n_items, depth = queue_answers.shape
    out = {}
    for k in (3, 5):
        items = np.repeat(np.arange(n_items), k)
        result = _em(items, queue_workers[:, :k].ravel(), queue_answers[:, :k].ravel(),
                     n_items, n_workers, n_classes)  # fmt: skip
        out[f"fixed_{k}"] = {
            "answers": int(items.size),
            "accuracy": round(float((result.labels == truth).mean()), 4),
        }
    taken = np.full(n_items, min(policy.min_workers, depth))
    rounds = 0
    while True:
        rounds += 1
        mask = np.arange(depth)[None, :] < taken[:, None]
        items = np.nonzero(mask)[0]
        result = _em(items, queue_workers[mask], queue_answers[mask], n_items, n_workers,
                     n_classes)  # fmt: skip
        more = policy.needs_more(taken, result.confidence) & (taken < depth)
        if not more.any():
            break
        taken = taken + more
    out["adaptive"] = {
        "answers": int(taken.sum()),
        "accuracy": round(float((result.labels == truth).mean()), 4),
        "rounds": rounds,
        "answers_per_item": {str(k): int((taken == k).sum()) for k in np.unique(taken)},
    }
    for k in (3, 5):
        fixed = out[f"fixed_{k}"]["answers"]
        out["adaptive"][f"saved_vs_fixed_{k}"] = round(1 - out["adaptive"]["answers"] / fixed, 4)
    return out


def simulated(seed: int, policy: OverlapPolicy) -> dict:
    crowd = make_crowd(seed=seed, **SIMULATION)
    rng = np.random.default_rng(seed + 1000)
    depth = policy.max_workers
    keys = rng.random((SIMULATION["n_items"], SIMULATION["n_workers"]))
    queue_workers = np.argsort(keys, axis=1)[:, :depth]
    items = np.repeat(np.arange(SIMULATION["n_items"]), depth)
    queue_answers = crowd.answer(items, queue_workers.ravel(), rng).reshape(-1, depth)
    return run_with_queues(queue_workers, queue_answers, crowd.truth,
                           SIMULATION["n_workers"], SIMULATION["n_classes"], policy)  # fmt: skip


def real(folder: Path, policy: OverlapPolicy, seed: int = 0) -> dict:
    data = read_answers(folder / "answers.csv", folder / "truth.csv")
    rng = np.random.default_rng(seed)
    n_items = len(data["questions"])
    per_item = np.bincount(data["items"], minlength=n_items)
    depth = int(per_item.min())
    # Shuffle answers within each item: sort by (item, random key), keep the first `depth`.
    order = np.lexsort((rng.random(len(data["items"])), data["items"]))
    rank = np.arange(len(order)) - np.repeat(np.cumsum(per_item) - per_item, per_item)
    keep = order[rank < depth]
    queue_workers = data["workers"][keep].reshape(n_items, depth)
    queue_answers = data["answers"][keep].reshape(n_items, depth)
    judged = np.array([data["truth"].get(q, -1) for q in data["questions"].tolist()])
    figures = run_with_queues(queue_workers, queue_answers, judged,
                              int(data["workers"].max()) + 1, len(data["classes"]),
                              policy)  # fmt: skip
    figures["answers_per_item_available"] = depth
    return figures


def summarise(figures: dict) -> str:
    parts = []
    for name, f in figures["runs"].items():
        a = f["adaptive"]
        parts.append(
            f"{name}: fixed 3 {f['fixed_3']['answers']} ans acc {f['fixed_3']['accuracy']}, "
            f"fixed 5 {f['fixed_5']['answers']} ans acc {f['fixed_5']['accuracy']}, "
            f"adaptive {a['answers']} ans acc {a['accuracy']} "
            f"({a['saved_vs_fixed_5']:.0%} fewer than fixed 5)"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    figures = {"policy": vars(POLICY) | {}, "simulation": SIMULATION, "runs": {}}
    for seed in SEEDS:
        print(f"simulation seed {seed}", file=sys.stderr)
        figures["runs"][f"simulated seed {seed}"] = simulated(seed, POLICY)
    if CROWD_DATA.is_dir():
        for folder in sorted(p for p in CROWD_DATA.iterdir() if (p / "answers.csv").exists()):
            print(f"real data {folder.name}", file=sys.stderr)
            figures["runs"][folder.name] = real(folder, POLICY)
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    figures.update(machine=machine(), code=git_commit())
    if args.no_record:
        print(json.dumps(figures))
        return
    record(command_line(), summarise(figures), figures)


if __name__ == "__main__":
    main()
