"""Accuracy and run time of each consolidation method on answers with known truth.

    .venv/bin/python bench/consolidation.py --answers A.csv --truth T.csv   # one data set
    .venv/bin/python bench/consolidation.py                                   # the full run

CSV columns: ``question,worker,answer`` and ``question,truth``. The full run scores every
data set under ``/work/shared/data/crowd/`` (real crowd answers with expert truth) and, in
the same run, crowd-kit's implementations on the same data (run by the Python of the bench's
own environment, ``--crowdkit-python``, default ``var/bench-venv/bin/python``); then EM on
1,000,000 synthetic answers (100,000 items × 10 answers, 5 classes), cold and **warm**: the
same 1M answers once more, EM started from the estimates of a run over all but the last 1 %
of them (what the app's re-estimation does after new answers came in), with iterations, time
and how many labels differ from the cold run; then **multi-label** answers on simulated
crowds (10,000 items × 6 labels, 5 answers each, 100 workers, a fifth of them careless on
half the labels): exact-set and per-label accuracy of the per-label majority vote and of the
multi-label EM, beside crowd-kit's ``BinaryRelevance`` (one binary aggregator per label)
around its ``MajorityVote`` and ``DawidSkene``.

**Sparse sets** (issue 19): each real set cut to 3 answers per item (3 of its answers drawn
at random per item, seeds 0–4), and simulated sparse crowds (3 answers per item, worker
activity log-normal so most workers give a handful of answers; three shapes, seeds 0–2),
scored like the full sets with crowd-kit in the same run; per set the mean over seeds, the
seeds' figures, and the method Quorum's re-estimation runs there (``auto``: Dawid–Skene EM
with the default prior once 200 answers overlap). ``dawid_skene_hierarchical`` is the EM
with the hierarchical prior (``PseudoCounts.pooled = 4``, not the default: see
``bench/em_sparse.py`` and ``docs/quality.md``). ``dawid_skene_no_prior`` is the same EM with no
pseudo-counts (maximum likelihood, crowd-kit's model: what is left of a gap to crowd-kit is not
about the prior); ``dawid_skene_heldout_choice`` is the EM with the default prior scaled by
the factor (0.1-4) whose EM best predicts held-out answers (5-fold, from the answers alone:
``labeling/consolidation/em_prior_choice.py``; the factor is in the JSON). Everything runs
pinned to one core with single-threaded BLAS. Prints one JSON object; the full run appends a
row to RESULTS.md (``--no-record`` prints only).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads: one core means one BLAS thread too

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from labeling.consolidation.dawid_skene import (  # noqa: E402
    EM_MIN_OVERLAPPING_ANSWERS,
    PseudoCounts,
    WarmStart,
    dawid_skene,
    vote_counts,
)
from labeling.consolidation.em_prior_choice import choose_pseudo_counts, scaled  # noqa: E402
from labeling.consolidation.multilabel_em import multilabel_dawid_skene  # noqa: E402
from labeling.quality.math.simulation import (  # noqa: E402
    fixed_overlap_answers,
    lopsided_answers,
    make_crowd,
    make_multilabel_crowd,
)

CROWD_DATA = Path("/work/shared/data/crowd")
DEFAULT_CROWDKIT_PYTHON = REPO / "var" / "bench-venv" / "bin" / "python"
SYNTHETIC = {"n_items": 100_000, "per_item": 10, "n_classes": 5}
NEW_SHARE = 0.01  # the warm run: answers that came in since the previous estimates
MULTILABEL = {"n_items": 10_000, "n_workers": 100, "n_labels": 6, "per_item": 5}
MULTILABEL_SEEDS = (1, 2, 3)
OUT = REPO / "bench" / "out"
SPARSE_PER_ITEM = 3
SPARSE_REAL_SEEDS = range(5)
SPARSE_SIMULATED_SEEDS = range(3)
# (name, items, workers, classes, make_crowd extras): shapes of bench/em_sparse.py
SPARSE_SIMULATED = (
    ("many workers, 4 classes", 800, 300, 4, {}),
    ("27 busy workers, hard items", 600, 27, 4, {"hard_share": 0.3}),
    ("crowd-wide errors, 3 classes", 2000, 800, 3,
     {"shared_confusion": 0.6, "class_difficulty": 0.1, "hard_share": 0.3}),
)  # fmt: skip
HIERARCHICAL = PseudoCounts(pooled=4.0)
NO_PRIOR = PseudoCounts(1e-9, 1e-9, 1e-9)
PRIOR_SCALES = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)  # bench/em_prior_choice.py's grid


def read_answers(answers_path: Path, truth_path: Path):
    with answers_path.open(newline="") as handle:
        rows = [(r["question"], r["worker"], r["answer"]) for r in csv.DictReader(handle)]
    with truth_path.open(newline="") as handle:
        truth = {r["question"]: r["truth"] for r in csv.DictReader(handle)}
    questions, items = np.unique([q for q, _, _ in rows], return_inverse=True)
    _, workers = np.unique([w for _, w, _ in rows], return_inverse=True)
    classes = sorted({a for _, _, a in rows} | set(truth.values()), key=_class_order)
    class_index = {c: i for i, c in enumerate(classes)}
    answers = np.array([class_index[a] for _, _, a in rows])
    return {
        "questions": questions,
        "items": items,
        "workers": workers,
        "answers": answers,
        "classes": classes,
        "truth": {q: class_index[t] for q, t in truth.items()},
    }


def _class_order(value: str):
    return (0, int(value), "") if value.lstrip("-").isdigit() else (1, 0, value)


def quorum_methods(data) -> dict[str, dict]:
    items, workers, answers = data["items"], data["workers"], data["answers"]
    n_items, n_workers = len(data["questions"]), int(workers.max()) + 1
    n_classes = len(data["classes"])
    out = {}
    started = time.perf_counter()
    majority = vote_counts(items, answers, n_items, n_classes).argmax(axis=1)
    out["majority"] = (time.perf_counter() - started, majority)
    for name, one_coin, pseudo in (
        ("dawid_skene", False, PseudoCounts()),
        ("one_coin", True, PseudoCounts()),
        ("dawid_skene_hierarchical", False, HIERARCHICAL),
        ("dawid_skene_no_prior", False, NO_PRIOR),
        ("dawid_skene_heldout_choice", False, None),
    ):
        started = time.perf_counter()
        if pseudo is None:
            candidates = tuple(scaled(PseudoCounts(), factor) for factor in PRIOR_SCALES)
            choice = choose_pseudo_counts(
                items, workers, answers, n_items=n_items, n_workers=n_workers,
                n_classes=n_classes, candidates=candidates,
            )  # fmt: skip
            pseudo, prior_scale = choice.pseudo, PRIOR_SCALES[choice.index]
        result = dawid_skene(
            items, workers, answers, n_items=n_items, n_workers=n_workers,
            n_classes=n_classes, one_coin=one_coin, pseudo=pseudo,
        )  # fmt: skip
        out[name] = (time.perf_counter() - started, result.labels, result.iterations)
    named = {
        name: {
            "seconds": round(values[0], 4),
            "labels": dict(zip(data["questions"].tolist(), values[1].tolist(), strict=True)),
            **({"iterations": values[2]} if len(values) > 2 else {}),
        }
        for name, values in out.items()
    }
    named["dawid_skene_heldout_choice"]["prior_scale"] = prior_scale
    return named


def crowdkit_methods(data, answers_path: Path, python: Path) -> dict[str, dict]:
    if not python.exists():
        return {"crowdkit_error": {"reason": f"{python} not found: install crowd-kit there"}}
    done = subprocess.run(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), str(python),
         str(REPO / "bench" / "_crowdkit_runner.py"), str(answers_path)],
        capture_output=True, text=True, env=os.environ.copy(),
    )  # fmt: skip
    if done.returncode:
        return {"crowdkit_error": {"reason": done.stderr[-1500:]}}
    class_index = {c: i for i, c in enumerate(data["classes"])}
    out = json.loads(done.stdout)
    for result in out.values():
        result["labels"] = {q: class_index[str(v)] for q, v in result["labels"].items()}
    return out


def score(methods: dict[str, dict], truth: dict[str, int]) -> dict[str, dict]:
    scored = {}
    for name, result in methods.items():
        if "labels" not in result:
            scored[name] = result
            continue
        judged = [q for q in truth if q in result["labels"]]
        right = sum(result["labels"][q] == truth[q] for q in judged)
        scored[name] = {
            "accuracy": round(right / len(judged), 4),
            "seconds": round(result["seconds"], 4),
            "items_judged": len(judged),
            **({"iterations": result["iterations"]} if "iterations" in result else {}),
            **({"prior_scale": result["prior_scale"]} if "prior_scale" in result else {}),
        }
    return scored


def run_data_set(answers_path: Path, truth_path: Path, crowdkit_python: Path | None) -> dict:
    data = read_answers(answers_path, truth_path)
    methods = quorum_methods(data)
    if crowdkit_python is not None:
        methods.update(crowdkit_methods(data, answers_path, crowdkit_python))
    per_item = np.bincount(data["items"])
    overlapping = int(per_item[per_item >= 2].sum())
    per_worker = np.bincount(data["workers"])
    return {
        "answers": int(len(data["answers"])),
        "items": int(len(data["questions"])),
        "workers": int(data["workers"].max()) + 1,
        "answers_per_worker_median": float(np.median(per_worker)),
        "classes": len(data["classes"]),
        # what the app's re-estimation runs on these answers (a job on "auto", the default)
        "reestimation_runs": (
            "dawid_skene" if overlapping >= EM_MIN_OVERLAPPING_ANSWERS else "majority"
        ),
        "methods": score(methods, data["truth"]),
    }


def write_answers(path: Path, questions, workers, answers) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "worker", "answer"])
        writer.writerows(zip(questions, workers, answers, strict=True))


def first_answers_per_item(items: np.ndarray, keep: int, seed: int) -> np.ndarray:
    """Indices of ``keep`` answers per item, drawn at random (all of an item with fewer)."""
    keys = np.random.default_rng(seed).random(len(items))
    order = np.lexsort((keys, items))
    ordered = items[order]
    rank = np.arange(len(order)) - np.searchsorted(ordered, ordered, side="left")
    return np.sort(order[rank < keep])


def sparse_simulated_crowd(spec: tuple, seed: int, stem: str):
    """One of ``SPARSE_SIMULATED``'s crowds, answered lopsidedly at ``SPARSE_PER_ITEM`` per
    item; its answers and truth written to ``OUT/<stem>-<seed>.csv`` and ``…-truth.csv``.
    Returns (crowd, items, workers, answers, answers' path, truth's path)."""
    _, n_items, n_workers, n_classes, extra = spec
    crowd = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=n_classes,
                       seed=300 + seed, mean_accuracy=0.65, **extra)  # fmt: skip
    items, workers, answers = lopsided_answers(
        crowd, per_item=SPARSE_PER_ITEM, seed=seed, spread=1.5
    )
    path = OUT / f"{stem}-{seed}.csv"
    write_answers(path, items.tolist(), workers.tolist(), answers.tolist())
    truth_path = OUT / f"{stem}-{seed}-truth.csv"
    with truth_path.open("w", newline="") as handle:
        csv.writer(handle).writerows([("question", "truth"), *enumerate(crowd.truth)])
    return crowd, items, workers, answers, path, truth_path


def run_sparse(crowdkit_python: Path | None, real_seeds: range = SPARSE_REAL_SEEDS) -> dict:
    """The real sets cut to 3 answers per item, and simulated sparse crowds, seed by seed."""
    OUT.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[dict]] = {}
    for folder in sorted(p for p in CROWD_DATA.iterdir() if (p / "answers.csv").exists()):
        with (folder / "answers.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        items = np.unique([r["question"] for r in rows], return_inverse=True)[1]
        for seed in real_seeds:
            print(f"sparse {folder.name} seed {seed}", file=sys.stderr)
            kept = [rows[i] for i in first_answers_per_item(items, SPARSE_PER_ITEM, seed)]
            path = OUT / f"sparse-{folder.name}-{seed}.csv"
            write_answers(path, *zip(*((r["question"], r["worker"], r["answer"]) for r in kept),
                                     strict=True))  # fmt: skip
            sets.setdefault(f"{folder.name}, {SPARSE_PER_ITEM} per item", []).append(
                run_data_set(path, folder / "truth.csv", crowdkit_python)
            )
    for spec in SPARSE_SIMULATED:
        for seed in SPARSE_SIMULATED_SEEDS:
            print(f"sparse simulated {spec[0]} seed {seed}", file=sys.stderr)
            *_, path, truth = sparse_simulated_crowd(spec, seed, "sparse-simulated")
            sets.setdefault(f"simulated: {spec[0]}", []).append(
                run_data_set(path, truth, crowdkit_python)
            )
    return {name: sparse_summary(runs) for name, runs in sets.items()}


def sparse_summary(runs: list[dict]) -> dict:
    methods = [m for m in runs[0]["methods"] if "accuracy" in runs[0]["methods"][m]]
    mean = {
        m: round(float(np.mean([run["methods"][m]["accuracy"] for run in runs])), 4)
        for m in methods
        if all("accuracy" in run["methods"].get(m, {}) for run in runs)
    }
    picked = {run["reestimation_runs"] for run in runs}
    out = {
        "seeds": len(runs),
        "answers": runs[0]["answers"],
        "workers": runs[0]["workers"],
        "answers_per_worker_median": runs[0]["answers_per_worker_median"],
        "reestimation_runs": "/".join(sorted(picked)),
        "mean_accuracy": mean,
        "per_seed": [{m: run["methods"][m].get("accuracy") for m in methods} for run in runs],
        "heldout_choice_prior_scale": [
            run["methods"]["dawid_skene_heldout_choice"]["prior_scale"] for run in runs
        ],
    }
    if "crowdkit_dawid_skene" in mean and len(picked) == 1:
        out["reestimation_at_least_crowdkit_dawid_skene"] = (
            mean[picked.pop()] >= mean["crowdkit_dawid_skene"]
        )
    return out


def run_synthetic() -> dict:
    """EM on 1,000,000 answers, twice: from a pool of 200 workers, and from exactly 10."""
    out = {}
    for n_workers in (200, 10):
        crowd = make_crowd(
            n_items=SYNTHETIC["n_items"], n_workers=n_workers,
            n_classes=SYNTHETIC["n_classes"], seed=n_workers,
        )  # fmt: skip
        items, workers, answers = fixed_overlap_answers(crowd, per_item=SYNTHETIC["per_item"])
        figures = {}
        counts = vote_counts(items, answers, len(crowd.truth), crowd.n_classes)
        figures["majority"] = {
            "accuracy": round(float((counts.argmax(1) == crowd.truth).mean()), 4)
        }
        for name, one_coin in (("one_coin", True), ("dawid_skene", False)):
            started = time.perf_counter()
            result = dawid_skene(
                items, workers, answers, n_items=len(crowd.truth), n_workers=n_workers,
                n_classes=crowd.n_classes, one_coin=one_coin,
            )  # fmt: skip
            figures[name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "iterations": result.iterations,
                "accuracy": round(float((result.labels == crowd.truth).mean()), 4),
            }
        figures["warm_start"] = warm_start(crowd, items, workers, answers, n_workers, result)
        out[f"{len(answers)} answers, {n_workers} workers"] = figures
    return out


def warm_start(crowd, items, workers, answers, n_workers: int, cold) -> dict:
    """EM over the same answers, started from a run over all but the last ``NEW_SHARE``."""
    rng = np.random.default_rng(n_workers + 1)
    old = rng.random(len(items)) >= NEW_SHARE
    shape = {"n_items": len(crowd.truth), "n_workers": n_workers, "n_classes": crowd.n_classes}
    previous = dawid_skene(items[old], workers[old], answers[old], **shape)
    started = time.perf_counter()
    warm = dawid_skene(items, workers, answers, **shape,
                       start=WarmStart(previous.confusions, previous.priors))  # fmt: skip
    seconds = time.perf_counter() - started
    return {
        "new_answers": int((~old).sum()),
        "cold_iterations": cold.iterations,
        "warm_iterations": warm.iterations,
        "warm_seconds": round(seconds, 3),
        "labels_differing_from_cold": int((warm.labels != cold.labels).sum()),
        "max_posterior_difference": round(
            float(np.abs(warm.posteriors - cold.posteriors).max()), 6
        ),
        "accuracy": round(float((warm.labels == crowd.truth).mean()), 4),
    }


def multilabel_answers(seed: int):
    crowd = make_multilabel_crowd(n_items=MULTILABEL["n_items"], n_workers=MULTILABEL["n_workers"],
                                  n_labels=MULTILABEL["n_labels"], seed=seed)  # fmt: skip
    rng = np.random.default_rng(seed + 7)
    keys = rng.random((MULTILABEL["n_items"], MULTILABEL["n_workers"]))
    workers = np.argsort(keys, axis=1)[:, : MULTILABEL["per_item"]].ravel()
    items = np.repeat(np.arange(MULTILABEL["n_items"]), MULTILABEL["per_item"])
    return crowd, items, workers, crowd.answer(items, workers, rng)


def _multilabel_scores(selected: np.ndarray, truth: np.ndarray) -> dict:
    return {
        "exact_set": round(float((selected == truth).all(axis=1).mean()), 4),
        "per_label": round(float((selected == truth).mean()), 4),
    }


def run_multilabel(crowdkit_python: Path | None) -> dict:
    out = {}
    for seed in MULTILABEL_SEEDS:
        crowd, items, workers, chosen = multilabel_answers(seed)
        n_items = MULTILABEL["n_items"]
        yes = np.zeros((n_items, chosen.shape[1]))
        np.add.at(yes, items, chosen)
        figures = {"majority": _multilabel_scores(yes / MULTILABEL["per_item"] > 0.5, crowd.truth)}
        started = time.perf_counter()
        result = multilabel_dawid_skene(items, workers, chosen, n_items=n_items,
                                        n_workers=MULTILABEL["n_workers"])  # fmt: skip
        figures["multilabel_em"] = _multilabel_scores(result.selected, crowd.truth) | {
            "seconds": round(time.perf_counter() - started, 3),
            "iterations": result.iterations,
        }
        if crowdkit_python is not None:
            figures |= crowdkit_multilabel(items, workers, chosen, crowd.truth, crowdkit_python)
        out[f"seed {seed}"] = figures
    return out


def crowdkit_multilabel(items, workers, chosen, truth, python: Path) -> dict:
    if not python.exists():
        return {"crowdkit_error": {"reason": f"{python} not found: install crowd-kit there"}}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "multilabel-answers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "worker", "labels"])
        for item, worker, row in zip(items.tolist(), workers.tolist(), chosen, strict=True):
            writer.writerow([item, worker, "|".join(str(i) for i in np.flatnonzero(row))])
    done = subprocess.run(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), str(python),
         str(REPO / "bench" / "_crowdkit_runner.py"), "--multilabel", str(path)],
        capture_output=True, text=True, env=os.environ.copy(),
    )  # fmt: skip
    if done.returncode:
        return {"crowdkit_error": {"reason": done.stderr[-1500:]}}
    out = {}
    for name, result in json.loads(done.stdout).items():
        selected = np.zeros_like(truth)
        for task, labels in result["labels"].items():
            selected[int(task), [int(label) for label in labels]] = True
        out[name] = _multilabel_scores(selected, truth) | {"seconds": round(result["seconds"], 3)}
    return out


def summarise(figures: dict) -> str:
    parts = []
    for name, data_set in figures["data_sets"].items():
        methods = data_set["methods"]
        cells = ", ".join(
            f"{method} {m['accuracy']:.4f} ({m['seconds']:.3f} s)"
            for method, m in methods.items()
            if "accuracy" in m
        )
        parts.append(f"{name}: {cells}")
    for name, data_set in figures.get("sparse", {}).items():
        mean = data_set["mean_accuracy"]
        cells = ", ".join(f"{method} {value:.4f}" for method, value in mean.items())
        parts.append(
            f"sparse {name} (mean of {data_set['seeds']} seeds; re-estimation runs"
            f" {data_set['reestimation_runs']}): {cells}"
        )
    for name, methods in figures.get("synthetic", {}).items():
        em, warm = methods["dawid_skene"], methods["warm_start"]
        parts.append(
            f"synthetic {name}: EM {em['seconds']} s ({em['iterations']} it, acc {em['accuracy']}),"
            f" one-coin {methods['one_coin']['seconds']} s, majority acc"
            f" {methods['majority']['accuracy']}; warm start after {warm['new_answers']} new"
            f" answers: {warm['warm_iterations']} it, {warm['warm_seconds']} s,"
            f" {warm['labels_differing_from_cold']} labels differ from cold"
        )
    for name, methods in figures.get("multilabel", {}).items():
        cells = ", ".join(
            f"{method} exact {m['exact_set']} per-label {m['per_label']}"
            for method, m in methods.items()
            if "exact_set" in m
        )
        parts.append(f"multi-label {name}: {cells}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--crowdkit-python", type=Path, default=DEFAULT_CROWDKIT_PYTHON)
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--no-sparse", action="store_true")
    parser.add_argument("--sparse-seeds", type=int, default=len(SPARSE_REAL_SEEDS),
                        help="seeds of the real sets cut to 3 answers per item")  # fmt: skip
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    crowdkit = None if args.no_crowdkit else args.crowdkit_python
    if args.answers:
        if not args.truth:
            parser.error("--answers needs --truth")
        figures = run_data_set(args.answers, args.truth, crowdkit)
        print(json.dumps(figures))
        return
    if not CROWD_DATA.is_dir():
        sys.exit(f"{CROWD_DATA} is missing: pass --answers and --truth")
    figures = {"data_sets": {}}
    for folder in sorted(p for p in CROWD_DATA.iterdir() if (p / "answers.csv").exists()):
        print(f"scoring {folder.name}", file=sys.stderr)
        figures["data_sets"][folder.name] = run_data_set(
            folder / "answers.csv", folder / "truth.csv", crowdkit
        )
    if not args.no_sparse:
        figures["sparse"] = run_sparse(crowdkit, range(args.sparse_seeds))
    if not args.no_synthetic:
        print("synthetic 1M answers", file=sys.stderr)
        figures["synthetic"] = run_synthetic()
        print("multi-label simulations", file=sys.stderr)
        figures["multilabel"] = run_multilabel(crowdkit)
    sys.path.insert(0, str(REPO / "bench"))
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    figures.update(machine=machine() + ", pinned to 1 core", code=git_commit())
    record(command_line(), summarise(figures), figures, write=not args.no_record)


if __name__ == "__main__":
    main()
