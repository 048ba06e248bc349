"""How much smoothing EM's confusion matrices want, decided on simulated crowds only.

    .venv/bin/python bench/em_pseudo_counts.py

Real crowds are lopsided: a few workers give most answers, many give a handful. This draws
such crowds (worker activity log-normal, accuracy around 0.65, some workers confusing
particular classes), in three shapes like the public data sets (800 items × 10 answers from
110 workers, 4 classes; 600 × 9 from 30, 4 classes; 2,000 × 5 from 200, 3 classes), 12
seeds each, and scores Dawid–Skene EM with each candidate set of pseudo-counts against the
simulated truth. The default in ``labeling/consolidation/dawid_skene.py`` is the best here;
no real data set's truth takes part. Prints one JSON object.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labeling.consolidation.dawid_skene import PseudoCounts, dawid_skene  # noqa: E402
from labeling.quality.math.simulation import lopsided_answers, make_crowd  # noqa: E402

SHAPES = ((800, 110, 10, 4), (600, 30, 9, 4), (2000, 200, 5, 3))
SEEDS = range(12)
CANDIDATES = {
    "none (maximum likelihood)": lambda k: PseudoCounts(1e-9, 1e-9, 1e-9),
    "light 0.5 / 0.25": lambda k: PseudoCounts(0.5, 0.25, 1.0),
    "first commit (diagonal 1 + 1/(K-1))": lambda k: PseudoCounts(1 + 1 / (k - 1), 1.0, 1.0),
    "2 / 1": lambda k: PseudoCounts(2.0, 1.0, 1.0),
    "4 / 2": lambda k: PseudoCounts(4.0, 2.0, 1.0),
}


def main() -> None:
    scores: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for seed in SEEDS:
        for n_items, n_workers, per_item, n_classes in SHAPES:
            crowd = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=n_classes,
                               seed=100 + seed, mean_accuracy=0.65)  # fmt: skip
            items, workers, answers = lopsided_answers(crowd, per_item=per_item, seed=seed)
            for name, make in CANDIDATES.items():
                result = dawid_skene(items, workers, answers, n_items=n_items,
                                     n_workers=n_workers, n_classes=n_classes,
                                     pseudo=make(n_classes))  # fmt: skip
                scores[name].append(float((result.labels == crowd.truth).mean()))
    print(json.dumps({name: {"mean_accuracy": round(float(np.mean(v)), 5),
                             "runs": len(v)} for name, v in scores.items()}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
