"""Which prior EM's confusion matrices want on sparse crowds, decided on simulated crowds only.

    .venv/bin/python bench/em_sparse.py

Sparse: 3 answers per item, workers' activity log-normal (sigma 1.5, so most workers give a
handful of answers and a few give hundreds), in shapes from "many workers" (800 items, 300
workers) to "few, busy workers" (600 items, 27 workers), 3 to 5 classes; each shape as three
kinds of crowd: plain (``make_crowd``), with hard items (30 % of items pull every worker to one
wrong class), and with a crowd-wide error pattern and per-class difficulty on top. The same
crowds answered 5 to 10 times per item (dense) check that nothing is lost there. Candidates:
no pseudo-counts (maximum likelihood, what crowd-kit's DawidSkene does), the default 2 / 1,
the default plus the hierarchical prior (``PseudoCounts.pooled``) at strengths 4 and 8, and
one-coin. Scores against the simulated truth only; prints one JSON object (mean accuracy per
candidate, overall and per kind of crowd).
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labeling.consolidation.dawid_skene import PseudoCounts, dawid_skene, vote_counts  # noqa: E402
from labeling.quality.math.simulation import lopsided_answers, make_crowd  # noqa: E402

# (items, workers, answers per item, classes)
SPARSE = ((800, 300, 3, 4), (600, 100, 3, 4), (2000, 800, 3, 3), (1000, 400, 3, 5),
          (600, 27, 3, 4), (800, 110, 3, 4))  # fmt: skip
DENSE = ((800, 110, 10, 4), (600, 27, 9, 4), (2000, 200, 5, 3))
CROWDS = {
    "plain": {},
    "hard items": {"hard_share": 0.3},
    "crowd-wide errors + hard items": {
        "shared_confusion": 0.6, "class_difficulty": 0.1, "hard_share": 0.3,
    },
}  # fmt: skip
SEEDS = range(4)
CANDIDATES = {
    "maximum likelihood (crowd-kit DS)": (PseudoCounts(1e-9, 1e-9, 1e-9), False),
    "default 2 / 1": (PseudoCounts(), False),
    "2 / 1 + hierarchical 4": (PseudoCounts(pooled=4.0), False),
    "2 / 1 + hierarchical 8": (PseudoCounts(pooled=8.0), False),
    "one-coin": (PseudoCounts(), True),
}


def score(shapes, spread: float) -> dict:
    runs: dict[str, dict[str, list[float]]] = {}
    for seed in SEEDS:
        for crowd_name, extra in CROWDS.items():
            for n_items, n_workers, per_item, n_classes in shapes:
                crowd = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=n_classes,
                                   seed=200 + seed, mean_accuracy=0.65, **extra)  # fmt: skip
                items, workers, answers = lopsided_answers(
                    crowd, per_item=per_item, seed=seed, spread=spread
                )
                counts = vote_counts(items, answers, n_items, n_classes)
                got = {"majority": counts.argmax(axis=1)}
                for name, (pseudo, one_coin) in CANDIDATES.items():
                    got[name] = dawid_skene(items, workers, answers, n_items=n_items,
                                            n_workers=n_workers, n_classes=n_classes,
                                            pseudo=pseudo, one_coin=one_coin).labels  # fmt: skip
                for name, labels in got.items():
                    accuracy = float((labels == crowd.truth).mean())
                    runs.setdefault(name, {}).setdefault(crowd_name, []).append(accuracy)
    return {
        name: {"mean_accuracy": round(float(np.mean(sum(by_crowd.values(), []))), 4)}
        | {kind: round(float(np.mean(values)), 4) for kind, values in by_crowd.items()}
        for name, by_crowd in runs.items()
    }


def main() -> None:
    print(json.dumps({"sparse": score(SPARSE, 1.5), "dense": score(DENSE, 1.2)}, indent=1))


if __name__ == "__main__":
    main()
