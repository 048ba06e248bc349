"""The active-against-random comparison of bench/active_learning.py: each loop's curve of
accuracy against human labels, the human labels each needs to reach the same level, and
the older one-model random baseline."""

import time
from pathlib import Path

import numpy as np


def record_curve(job_id: int, truth: dict[int, object], multilabel: bool) -> list[list]:
    """Watch the job's rounds: after each model is trained, the accuracy the job's labels would
    have if the humans stopped now and every open item took the model's best guess (human
    labels + auto-labels + best guesses, against truth). Returns the list it appends
    [human labels, accuracy] to; the production round code runs unchanged around it."""
    from active_learning.services import rounds
    from labeling.models import ConsolidatedLabel

    points: list[list] = []
    train = rounds.model_train

    def observed(*, job, config, heartbeat):
        trained = train(job=job, config=config, heartbeat=heartbeat)
        if job.pk != job_id:
            return trained
        labels = {}
        humans = 0
        for item_id, label, value, human in ConsolidatedLabel.objects.filter(
            job_id=job_id
        ).values_list("item_id", "label", "value", "human_annotated"):
            labels[item_id] = sorted(value["labels"]) if multilabel else label
            humans += human
        space = trained.space
        predicted = space.predicted(trained.pool_probabilities)
        for row, item_id in enumerate(trained.pool_ids.tolist()):
            text = space.text(predicted[row])
            guess = (sorted(text.split(",")) if text else []) if multilabel else text
            labels.setdefault(item_id, guess)
        right = sum(labels.get(item_id) == value for item_id, value in truth.items())
        points.append([humans, round(right / len(truth), 4)])
        return trained

    rounds.model_train = observed
    return points


def labels_to_reach(curve: list[list], accuracy: float) -> float | None:
    """Human labels at which a curve first reaches ``accuracy``: linear between the two
    points around the first crossing; None if it never does."""
    previous = None
    for humans, reached in curve:
        if reached >= accuracy:
            if previous is None or previous[1] >= reached:
                return float(humans)
            share = (accuracy - previous[1]) / (reached - previous[1])
            return round(previous[0] + share * (humans - previous[0]), 1)
        previous = (humans, reached)
    return None


def compare_loops(active: dict, random_loop: dict) -> dict:
    """Human labels each loop needed to reach the same accuracy of the job's labels.

    The level is the lower of the two loops' final accuracies (every item labeled), so both
    reach it; each curve point is [human labels, accuracy of human labels + auto-labels + the
    model's best guess for the items still open], taken after every round's training. The
    saving is 1 − active labels / random labels at that level. Until the first round both
    loops ask the same items (the validation slice, then random ones): ``saving_after_first``
    counts only the labels after it, the ones a strategy chose."""
    level = min(active["final_accuracy"], random_loop["final_accuracy"])
    levels = sorted({level, *(a for a in (0.9, 0.95, 0.97) if a < level)})
    first = active["curve"][0][0]
    out = {}
    for accuracy in levels:
        mine = labels_to_reach(active["curve"], accuracy)
        theirs = labels_to_reach(random_loop["curve"], accuracy)
        both = mine is not None and theirs is not None
        out[str(accuracy)] = {
            "active": mine,
            "random": theirs,
            "saving": round(1 - mine / theirs, 4) if both and theirs else None,
            "saving_after_first": (
                round(1 - (mine - first) / (theirs - first), 4) if both and theirs > first else None
            ),
        }
    return {"level": level, "first_round_at": first, "at_level": out[str(level)], "by_level": out}


def run_baseline(args, lines: list[dict], classes: list[str], task_type: str, budget: int):
    """Random sampling with the same human budget: the same validation size and learner,
    trained once on a random sample; the threshold picks what it may label; every other item
    gets the model's best guess (the budget is spent)."""
    from django.conf import settings

    from active_learning.labelspace import LabelSpace
    from active_learning.learners.images import load_pixels
    from active_learning.learners.registry import learner_module, make_learner
    from active_learning.threshold import select_threshold

    space = LabelSpace.for_job(task_type, classes)
    rng = np.random.default_rng(args.seed)
    total = len(lines)
    order = rng.permutation(total)
    validation = order[: args.validation_size]
    training = order[args.validation_size : budget]
    rest = order[budget:]
    targets = space.targets(
        [space.target(line["truth"], {"labels": line["truth"]}) for line in lines]
    )
    started = time.perf_counter()
    if task_type.startswith("image-"):
        refs = {i: line["source-ref"] for i, line in enumerate(lines)}
        cache = Path(settings.MEDIA_ROOT) / "baseline-pixels.npz"
        _, inputs = load_pixels(cache_file=cache, root=Path(settings.MEDIA_ROOT), refs=refs)
        learner = make_learner("image-cnn")
    elif args.learner == "text-embedding":
        _, inputs = learner_module("text-embedding").embed_items(
            cache_file=Path(settings.MEDIA_ROOT) / "baseline-vectors.npz",
            texts={i: line["source"] for i, line in enumerate(lines)},
            heartbeat=lambda: None,
        )
        learner = make_learner("text-embedding")
    else:
        inputs = [line["source"] for line in lines]
        learner = make_learner("text-tfidf")
        learner.prepare(inputs)

    def take(rows):
        return inputs[rows] if isinstance(inputs, np.ndarray) else [inputs[r] for r in rows]

    # The same simulated humans: with --noise, a share of their labels is wrong.
    given = targets.copy()
    humans = order[:budget]
    flip = rng.random(len(humans)) < args.noise
    if space.multilabel:  # one label of the set added or dropped
        which = rng.integers(0, len(classes), len(humans))
        given[humans[flip], which[flip]] ^= 1
    else:
        shift = rng.integers(1, len(classes), len(humans)) if len(classes) > 1 else 0
        given[humans[flip]] = (targets[humans[flip]] + np.asarray(shift)[flip]) % len(classes)
    human_right = int(space.hits_exact(given[humans], targets[humans]).sum())

    learner.fit(take(training), given[training], len(classes), lambda: None)
    valid = learner.predict_proba(take(validation))
    choice = select_threshold(
        space.confidence(valid), space.hits(valid, given[validation]), target=args.target
    )
    predicted = learner.predict_proba(take(rest))
    right = space.hits(predicted, targets[rest])
    cleared = (
        space.confidence(predicted) >= choice.threshold
        if choice.threshold is not None
        else np.zeros(len(rest), bool)
    )
    wrong = int((~right).sum())
    return {
        "human_labels": budget,
        "human_share": round(budget / total, 4),
        "threshold": choice.threshold,
        "auto_labels_at_threshold": int(cleared.sum()),
        "auto_label_accuracy": round(float(right[cleared].mean()), 4) if cleared.any() else None,
        "final_accuracy_best_guess_for_the_rest": round(
            (human_right + len(rest) - wrong) / total, 4
        ),
        "final_accuracy_at_threshold_rest_unlabeled": round(
            (human_right + int(right[cleared].sum())) / total, 4
        ),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _loop_of(path: str, key: str) -> dict:
    """A loop from a bench JSON (the file, or the last JSON line of a run's output)."""
    import json

    text = Path(path).read_text()
    try:
        figures = json.loads(text)
    except json.JSONDecodeError:
        figures = json.loads([line for line in text.splitlines() if line.startswith("{")][-1])
    return figures[key]


if __name__ == "__main__":
    # Compare one run's loop with another run's (q19-al4): e.g. a --no-baseline run of a
    # strategy against the random loop of another run on the same seed and code.
    #   python bench/_al_compare.py ACTIVE.json[:key] RANDOM.json[:key]
    # key: active_learning (the default for the first) or random_loop (for the second).
    import json
    import sys

    def parse(argument: str, default: str) -> dict:
        path, _, key = argument.partition(":")
        return _loop_of(path, key or default)

    active = parse(sys.argv[1], "active_learning")
    random_loop = parse(sys.argv[2], "random_loop")
    print(json.dumps(compare_loops(active, random_loop), indent=1))
