"""Would a prior strength chosen from the answers alone close the face-cut gap? (issue 19)

    .venv/bin/python bench/em_prior_choice.py [--seeds 5] [--no-crowdkit]

Per set (the real sets cut to 3 answers per item, seeds 0..n-1, as ``bench/consolidation.py``
cuts them; the full real sets; its three simulated sparse crowds, seeds 0-2): the accuracy of
Quorum's EM with the default prior scaled by 0.1 ... 4 and with no prior (maximum likelihood),
crowd-kit's DawidSkene in the same run, and what three criteria computed from the answers
alone pick among the scaled priors:

- ``heldout_log``: mean log predictive probability of held-out answers, 5-fold over answers
  (``labeling/consolidation/em_prior_choice.py``; proper);
- ``heldout_brier``: the same predictive distributions scored by Brier (proper, bounded);
- ``marginal``: the Dirichlet-multinomial marginal likelihood of each worker's expected
  (true class, answer) counts under the prior (empirical Bayes, plug-in counts).

Beside them (stop 28), ``pooled_mean``: EM whose confusion prior is not the default's even
spread but the *crowd's* pooled confusion matrix (all workers' expected counts, recomputed
each iteration) at ``s`` pseudo-answers per row, ``s`` in ``POOLED_STRENGTHS``: a worker seen
twice inherits the crowd's typical confusions. (The opt-in hierarchical prior adds such
pseudo-answers on top of the default's; this replaces them.)

The truth only scores; nothing here is chosen by it. Prints one JSON object.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from scipy.special import gammaln

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from consolidation import (  # noqa: E402
    CROWD_DATA,
    DEFAULT_CROWDKIT_PYTHON,
    OUT,
    SPARSE_PER_ITEM,
    SPARSE_SIMULATED,
    crowdkit_methods,
    first_answers_per_item,
    read_answers,
    sparse_simulated_crowd,
    write_answers,
)

from labeling.consolidation.dawid_skene import (  # noqa: E402
    DEFAULT_PSEUDO_COUNTS,
    PseudoCounts,
    dawid_skene,
    posteriors_from_confusions,
    vote_counts,
)
from labeling.consolidation.em_prior_choice import choose_pseudo_counts, scaled  # noqa: E402

SCALES = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
CANDIDATES = tuple(scaled(DEFAULT_PSEUDO_COUNTS, s) for s in SCALES)
MAXIMUM_LIKELIHOOD = PseudoCounts(1e-9, 1e-9, 1e-9)
FOLDS = 5
POOLED_STRENGTHS = (2.0, 3.0, 4.0)


def pooled_mean_em(items, workers, answers, shape, strength: float, iterations: int = 100):
    """EM with each worker's confusion rows pulled toward the crowd's pooled rows by
    ``strength`` pseudo-answers per row (the default's pseudo-counts only keep the pooled
    rows off zero); priors as the default's. Returns the labels."""
    n_items, n_workers, n_classes = shape["n_items"], shape["n_workers"], shape["n_classes"]
    counts = vote_counts(items, answers, n_items, n_classes)
    posteriors = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
    off = DEFAULT_PSEUDO_COUNTS.off_diagonal / (n_classes - 1)
    fixed = off + np.eye(n_classes) * (DEFAULT_PSEUDO_COUNTS.diagonal - off)
    key = workers * n_classes + answers
    for _ in range(iterations):
        expected = np.stack([
            np.bincount(key, weights=posteriors[items, k], minlength=n_workers * n_classes)
            for k in range(n_classes)
        ]).reshape(n_classes, n_workers, n_classes).transpose(1, 0, 2)  # fmt: skip
        crowd = expected.sum(axis=0) + fixed
        rows = expected + strength * (crowd / crowd.sum(axis=1, keepdims=True))[None]
        priors = posteriors.sum(axis=0) + DEFAULT_PSEUDO_COUNTS.prior
        updated = posteriors_from_confusions(
            items, workers, answers, n_items=n_items,
            confusions=rows / rows.sum(axis=2, keepdims=True), priors=priors / priors.sum(),
        )  # fmt: skip
        change = np.abs(updated - posteriors).max()
        posteriors = updated
        if change < 1e-5:
            break
    return posteriors.argmax(axis=1)


def _brier_pick(items, workers, answers, shape) -> int:
    fold = np.random.default_rng(0).permutation(len(answers)) % FOLDS
    scores = []
    for pseudo in CANDIDATES:
        total = 0.0
        for held in range(FOLDS):
            kept = fold != held
            fitted = dawid_skene(items[kept], workers[kept], answers[kept], **shape, pseudo=pseudo)
            posteriors = fitted.posteriors
            posteriors[np.bincount(items[kept], minlength=shape["n_items"]) == 0] = fitted.priors
            out = ~kept
            predictive = np.einsum("nk,nka->na", posteriors[items[out]],
                                   fitted.confusions[workers[out]])  # fmt: skip
            total -= float(((predictive - np.eye(shape["n_classes"])[answers[out]]) ** 2).sum())
        scores.append(total)
    return int(np.argmax(scores))


def _marginal_pick(items, workers, answers, shape) -> int:
    n_classes, n_workers = shape["n_classes"], shape["n_workers"]
    scores = []
    for pseudo in CANDIDATES:
        fitted = dawid_skene(items, workers, answers, **shape, pseudo=pseudo)
        counts = np.zeros((n_workers, n_classes, n_classes))
        for true_class in range(n_classes):
            counts[:, true_class] = np.bincount(
                workers * n_classes + answers, weights=fitted.posteriors[items, true_class],
                minlength=n_workers * n_classes,
            ).reshape(n_workers, n_classes)  # fmt: skip
        off = pseudo.off_diagonal / (n_classes - 1)
        alpha = off + np.eye(n_classes) * (pseudo.diagonal - off)
        per_row = gammaln(alpha.sum(-1)) - gammaln(alpha.sum(-1) + counts.sum(-1))
        per_row += (gammaln(alpha + counts) - gammaln(alpha)).sum(-1)
        scores.append(float(per_row.sum()))
    return int(np.argmax(scores))


def score_set(items, workers, answers, truth, n_classes, crowdkit: dict | None) -> dict:
    items, workers, answers = (np.asarray(a, dtype=np.int64) for a in (items, workers, answers))
    shape = {"n_items": len(truth), "n_workers": int(workers.max()) + 1, "n_classes": n_classes}

    def accuracy(pseudo):
        return float((dawid_skene(items, workers, answers, **shape, pseudo=pseudo).labels
                      == truth).mean())  # fmt: skip

    by_scale = [accuracy(pseudo) for pseudo in CANDIDATES]
    picks = {
        "heldout_log": choose_pseudo_counts(
            items, workers, answers, **shape, candidates=CANDIDATES, folds=FOLDS
        ).index,
        "heldout_brier": _brier_pick(items, workers, answers, shape),
        "marginal": _marginal_pick(items, workers, answers, shape),
    }
    out = {
        "pooled_mean": {
            str(s): float((pooled_mean_em(items, workers, answers, shape, s) == truth).mean())
            for s in POOLED_STRENGTHS
        },
        "accuracy_by_scale": dict(zip(map(str, SCALES), by_scale, strict=True)),
        "maximum_likelihood": accuracy(MAXIMUM_LIKELIHOOD),
        "default": by_scale[SCALES.index(1.0)],
        "picked_scale": {name: SCALES[index] for name, index in picks.items()},
        "picked_accuracy": {name: by_scale[index] for name, index in picks.items()},
    }
    if crowdkit is not None:
        out["crowdkit_dawid_skene"] = crowdkit
    return out


def _crowdkit_accuracy(path: Path, truth_path: Path, python: Path | None) -> float | None:
    if python is None:
        return None
    data = read_answers(path, truth_path)
    result = crowdkit_methods(data, path, python).get("crowdkit_dawid_skene", {})
    if "labels" not in result:
        return None
    truth = data["truth"]
    judged = [q for q in truth if q in result["labels"]]
    return sum(result["labels"][q] == truth[q] for q in judged) / len(judged)


def real_sets(seeds: int, python: Path | None) -> dict[str, list[dict]]:
    OUT.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[dict]] = {}
    for folder in sorted(p for p in CROWD_DATA.iterdir() if (p / "answers.csv").exists()):
        with (folder / "answers.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        items = np.unique([r["question"] for r in rows], return_inverse=True)[1]
        cuts = [(f"{folder.name}, full", None)] + [
            (f"{folder.name}, {SPARSE_PER_ITEM} per item", seed) for seed in range(seeds)
        ]
        for name, seed in cuts:
            print(f"{name} seed {seed}", file=sys.stderr)
            kept = rows if seed is None else [
                rows[i] for i in first_answers_per_item(items, SPARSE_PER_ITEM, seed)
            ]  # fmt: skip
            path = OUT / f"prior-choice-{folder.name}-{seed}.csv"
            write_answers(path, *zip(*((r["question"], r["worker"], r["answer"]) for r in kept),
                                     strict=True))  # fmt: skip
            data = read_answers(path, folder / "truth.csv")
            truth = np.array([data["truth"][q] for q in data["questions"]])
            sets.setdefault(name, []).append(score_set(
                data["items"], data["workers"], data["answers"], truth, len(data["classes"]),
                _crowdkit_accuracy(path, folder / "truth.csv", python),
            ))  # fmt: skip
    return sets


def simulated_sets(python: Path | None) -> dict[str, list[dict]]:
    sets: dict[str, list[dict]] = {}
    for spec in SPARSE_SIMULATED:
        for seed in range(3):
            print(f"simulated {spec[0]} seed {seed}", file=sys.stderr)
            crowd, items, workers, answers, path, truth_path = sparse_simulated_crowd(
                spec, seed, "prior-choice-simulated"
            )
            sets.setdefault(f"simulated: {spec[0]}", []).append(score_set(
                items, workers, answers, crowd.truth, spec[3],
                _crowdkit_accuracy(path, truth_path, python),
            ))  # fmt: skip
    return sets


def summary(runs: list[dict]) -> dict:
    def mean(values):
        return round(float(np.mean(values)), 4)

    out = {
        "seeds": len(runs),
        "default": mean([r["default"] for r in runs]),
        "maximum_likelihood": mean([r["maximum_likelihood"] for r in runs]),
        "accuracy_by_scale": {
            s: mean([r["accuracy_by_scale"][s] for r in runs]) for s in runs[0]["accuracy_by_scale"]
        },
        "picked_accuracy": {
            c: mean([r["picked_accuracy"][c] for r in runs]) for c in runs[0]["picked_accuracy"]
        },
        "pooled_mean": {
            s: mean([r["pooled_mean"][s] for r in runs]) for s in runs[0]["pooled_mean"]
        },
        "picked_scale": {c: [r["picked_scale"][c] for r in runs] for c in runs[0]["picked_scale"]},
    }
    if all(r.get("crowdkit_dawid_skene") is not None for r in runs):
        out["crowdkit_dawid_skene"] = mean([r["crowdkit_dawid_skene"] for r in runs])
        for name, pick in (("default", lambda r: r["default"]),
                           *((f"pooled_mean {s}", lambda r, s=s: r["pooled_mean"][s])
                             for s in runs[0]["pooled_mean"])):  # fmt: skip
            gap = 100 * np.array([pick(r) - r["crowdkit_dawid_skene"] for r in runs])
            se = gap.std(ddof=1) / np.sqrt(len(gap)) if len(gap) > 1 else 0.0
            out.setdefault("points_above_crowdkit", {})[name] = [round(float(gap.mean()), 2),
                                                                 round(float(se), 2)]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the real sets' cuts")
    parser.add_argument("--crowdkit-python", type=Path, default=DEFAULT_CROWDKIT_PYTHON)
    parser.add_argument("--no-crowdkit", action="store_true")
    args = parser.parse_args()
    python = None if args.no_crowdkit else args.crowdkit_python
    sets = real_sets(args.seeds, python) | simulated_sets(python)
    print(json.dumps({name: summary(runs) for name, runs in sets.items()}, indent=1))


if __name__ == "__main__":
    main()
