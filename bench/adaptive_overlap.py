"""Answers spent and accuracy: fixed overlap 3 and 5 against adaptive overlap.

    .venv/bin/python bench/adaptive_overlap.py [--no-record]

Every method sees the very same answers: each item has a queue of answers (distinct workers,
in order); fixed overlap k takes the first k, adaptive takes as many as the policy asks for.
Final labels are Dawid–Skene EM over the answers taken (the app's last re-estimation).

Adaptive overlap is replayed the way the app runs it. Items are labeled in ``WAVES`` waves
(a job's items are not all open at once: the first wave stands for the first minutes of a
job); inside a wave, round after round, each open item's posterior is computed from its
answers so far with the **stored** worker estimates of the last re-estimation (none in the
first wave: every worker is the default 70 % worker) by :func:`item_posteriors`, and
:meth:`OverlapPolicy.needs_more` says which items get one more answer; after each wave the
re-estimation (EM over every answer so far) stores new estimates. These are the two
functions the submit path calls (``labeling/quality/services/reliability.py``).

**The policy is chosen on simulations only**, by a rule fixed before any run: of the grid
``GRID`` (min 2 or 3, max 5, 7 or 9, target 0.9–0.99), keep the policies that spend at most
80 % of fixed 5's answers on every simulated run, and take the one whose *worst* accuracy
margin over fixed 5 (over all simulated runs) is largest; ties to fewer answers. The
simulated runs: 3 seeds × 2 crowds (workers of varied accuracy erring independently; the
same plus 20 % hard items whose distractor pulls 40 % of answers, see
``labeling/quality/math/simulation.py``), 6,000 items, 150 workers, 4 classes. The chosen policy
then runs once on fresh simulations (20,000 items, other seeds) and on the real data.

Real data (``/work/shared/data/crowd/``): each item's answers in a random order; over
``REPLAY_ORDERS`` orders (one replay order moves accuracy by ±2 points, a dozen items), so
the figure is the mean, with the share of orders where adaptive is at least as accurate.
The max is capped by the answers an item has (7 on ``face``).
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from consolidation import CROWD_DATA, read_answers  # noqa: E402

from labeling.consolidation.dawid_skene import dawid_skene  # noqa: E402
from labeling.quality.math.adaptive import OverlapPolicy, WorkerEstimates, item_posteriors  # noqa: E402
from labeling.quality.math.simulation import make_crowd  # noqa: E402

GRID = [
    OverlapPolicy(low, high, target)
    for low, high, target in itertools.product((2, 3), (5, 7, 9), (0.9, 0.95, 0.98, 0.99))
]
MAX_SHARE_OF_FIXED_5 = 0.8
CROWDS = {"independent": {"hard_share": 0.0}, "hard items": {"hard_share": 0.2}}
CHOICE_SIMULATION = {"n_items": 6_000, "n_workers": 150, "n_classes": 4}
CHOICE_SEEDS = (1, 2, 3)
SIMULATION = {"n_items": 20_000, "n_workers": 150, "n_classes": 4}
SEEDS = (11, 12, 13)
WAVES = 10
REPLAY_ORDERS = 20


def _em(items, workers, answers, n_items, n_workers, n_classes):
    return dawid_skene(
        items, workers, answers, n_items=n_items, n_workers=n_workers, n_classes=n_classes
    )


def fixed(queue_workers, queue_answers, truth, n_workers, n_classes, k):
    n_items = queue_answers.shape[0]
    items = np.repeat(np.arange(n_items), k)
    result = _em(items, queue_workers[:, :k].ravel(), queue_answers[:, :k].ravel(),
                 n_items, n_workers, n_classes)  # fmt: skip
    return {"answers": int(items.size), "accuracy": float((result.labels == truth).mean())}


def adaptive(queue_workers, queue_answers, truth, n_workers, n_classes, policy, waves=WAVES):
    """Replay adaptive overlap over the queues in ``waves`` waves (see the module doc)."""
    n_items, depth = queue_answers.shape
    taken = np.zeros(n_items, dtype=np.int64)
    estimates = None
    for wave in np.array_split(np.arange(n_items), waves):
        taken[wave] = min(policy.min_workers, depth)
        while True:
            mask = np.arange(depth)[None, :] < taken[wave][:, None]
            rows = np.nonzero(mask)[0]
            posterior = item_posteriors(
                rows, queue_workers[wave][mask], queue_answers[wave][mask],
                n_items=len(wave), n_classes=n_classes, n_workers=n_workers,
                estimates=estimates,
            )  # fmt: skip
            more = policy.needs_more(taken[wave], posterior.max(axis=1)) & (taken[wave] < depth)
            if not more.any():
                break
            taken[wave] += more
        # The re-estimation after the wave: EM over every answer given so far, stored.
        mask = np.arange(depth)[None, :] < taken[:, None]
        items = np.nonzero(mask)[0]
        result = _em(items, queue_workers[mask], queue_answers[mask], n_items, n_workers,
                     n_classes)  # fmt: skip
        seen = np.bincount(queue_workers[mask], minlength=n_workers) > 0
        estimates = WorkerEstimates(result.confusions, seen, result.priors)
    return {
        "answers": int(taken.sum()),
        "accuracy": float((result.labels == truth).mean()),
        "answers_per_item": {str(k): int((taken == k).sum()) for k in np.unique(taken)},
    }


def compare(queues, truth, n_workers, n_classes, policy) -> dict:
    out = {f"fixed_{k}": fixed(*queues, truth, n_workers, n_classes, k) for k in (3, 5)}
    out["adaptive"] = adaptive(*queues, truth, n_workers, n_classes, policy)
    for k in (3, 5):
        out["adaptive"][f"saved_vs_fixed_{k}"] = (
            1 - out["adaptive"]["answers"] / out[f"fixed_{k}"]["answers"]
        )
    return out


def simulated_queues(seed: int, depth: int, shape: dict, crowd_kind: dict):
    crowd = make_crowd(seed=seed, **shape, **crowd_kind)
    rng = np.random.default_rng(seed + 1000)
    keys = rng.random((shape["n_items"], shape["n_workers"]))
    queue_workers = np.argsort(keys, axis=1)[:, :depth]
    items = np.repeat(np.arange(shape["n_items"]), depth)
    queue_answers = crowd.answer(items, queue_workers.ravel(), rng).reshape(-1, depth)
    return (queue_workers, queue_answers), crowd.truth


def choose_policy() -> tuple[OverlapPolicy, list[dict]]:
    """The rule of the module doc, on simulations only."""
    depth = max(p.max_workers for p in GRID)
    runs = []
    for kind, seed in itertools.product(CROWDS, CHOICE_SEEDS):
        queues, truth = simulated_queues(seed, depth, CHOICE_SIMULATION, CROWDS[kind])
        shape = (truth, CHOICE_SIMULATION["n_workers"], CHOICE_SIMULATION["n_classes"])
        base = fixed(*queues, *shape, 5)
        runs.append((queues, shape, base))
    table = []
    for policy in GRID:
        margins, shares = [], []
        for queues, shape, base in runs:
            result = adaptive(*queues, *shape, policy)
            margins.append(result["accuracy"] - base["accuracy"])
            shares.append(result["answers"] / base["answers"])
        table.append(
            {"policy": vars(policy), "worst_margin_vs_fixed_5": round(min(margins), 4),
             "mean_margin": round(float(np.mean(margins)), 4),
             "max_share_of_fixed_5": round(max(shares), 4),
             "mean_share_of_fixed_5": round(float(np.mean(shares)), 4)}
        )  # fmt: skip
        print(f"  {policy}: {table[-1]}", file=sys.stderr)
    eligible = [row for row in table if row["max_share_of_fixed_5"] <= MAX_SHARE_OF_FIXED_5]
    best = max(eligible, key=lambda r: (r["worst_margin_vs_fixed_5"], -r["mean_share_of_fixed_5"]))
    return OverlapPolicy(**best["policy"]), table


def real(folder: Path, policy: OverlapPolicy) -> dict:
    data = read_answers(folder / "answers.csv", folder / "truth.csv")
    n_items = len(data["questions"])
    per_item = np.bincount(data["items"], minlength=n_items)
    depth = min(int(per_item.min()), max(policy.max_workers, 5))
    judged = np.array([data["truth"].get(q, -1) for q in data["questions"].tolist()])
    n_workers, n_classes = int(data["workers"].max()) + 1, len(data["classes"])
    orders = []
    for seed in range(REPLAY_ORDERS):
        rng = np.random.default_rng(seed)
        # Shuffle answers within each item: sort by (item, random key), keep the first `depth`.
        order = np.lexsort((rng.random(len(data["items"])), data["items"]))
        rank = np.arange(len(order)) - np.repeat(np.cumsum(per_item) - per_item, per_item)
        keep = order[rank < depth]
        queues = (data["workers"][keep].reshape(n_items, depth),
                  data["answers"][keep].reshape(n_items, depth))  # fmt: skip
        orders.append(compare(queues, judged, n_workers, n_classes, policy))
    return summarise_orders(orders) | {"answers_per_item_available": int(per_item.min()),
                                       "max_used": depth}  # fmt: skip


def summarise_orders(orders: list[dict]) -> dict:
    out = {}
    for name in ("fixed_3", "fixed_5", "adaptive"):
        accuracy = np.array([o[name]["accuracy"] for o in orders])
        answers = np.array([o[name]["answers"] for o in orders])
        out[name] = {"answers": round(float(answers.mean()), 1),
                     "accuracy": round(float(accuracy.mean()), 4),
                     "accuracy_sd": round(float(accuracy.std()), 4)}  # fmt: skip
    diff = np.array([o["adaptive"]["accuracy"] - o["fixed_5"]["accuracy"] for o in orders])
    out["adaptive"] |= {
        "saved_vs_fixed_5": round(1 - out["adaptive"]["answers"] / out["fixed_5"]["answers"], 4),
        "saved_vs_fixed_3": round(1 - out["adaptive"]["answers"] / out["fixed_3"]["answers"], 4),
        "minus_fixed_5_mean": round(float(diff.mean()), 4),
        "minus_fixed_5_sd": round(float(diff.std()), 4),
        "orders_at_least_fixed_5": f"{int((diff >= 0).sum())}/{len(orders)}",
        "minus_fixed_3_mean": round(
            float(np.mean([o["adaptive"]["accuracy"] - o["fixed_3"]["accuracy"] for o in orders])),
            4,
        ),
    }
    out["replay_orders"] = len(orders)
    return out


def summarise(figures: dict) -> str:
    p = figures["policy"]
    parts = [f"policy chosen on simulations: min {p['min_workers']}, max {p['max_workers']}, "
             f"target {p['target_confidence']}"]  # fmt: skip
    for name, f in figures["runs"].items():
        a = f["adaptive"]
        orders = a.get("orders_at_least_fixed_5")
        parts.append(
            f"{name}: fixed 3 {f['fixed_3']['answers']} ans acc {f['fixed_3']['accuracy']}, "
            f"fixed 5 {f['fixed_5']['answers']} ans acc {f['fixed_5']['accuracy']}, "
            f"adaptive {a['answers']} ans acc {a['accuracy']} "
            f"({a['saved_vs_fixed_5']:.0%} fewer than fixed 5"
            + (f"; as accurate or more in {orders} replay orders)" if orders else ")")
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    print("choosing the policy on simulations", file=sys.stderr)
    policy, table = choose_policy()
    figures = {"policy": vars(policy), "rule": {
        "grid": len(GRID), "max_share_of_fixed_5": MAX_SHARE_OF_FIXED_5,
        "choice_simulation": CHOICE_SIMULATION, "choice_seeds": CHOICE_SEEDS,
        "crowds": CROWDS, "table": table}, "simulation": SIMULATION, "waves": WAVES,
        "runs": {}}  # fmt: skip
    for kind, seed in itertools.product(CROWDS, SEEDS):
        print(f"simulation {kind} seed {seed}", file=sys.stderr)
        queues, truth = simulated_queues(seed, policy.max_workers, SIMULATION, CROWDS[kind])
        f = compare(queues, truth, SIMULATION["n_workers"], SIMULATION["n_classes"], policy)
        for name in ("fixed_3", "fixed_5", "adaptive"):
            f[name]["accuracy"] = round(f[name]["accuracy"], 4)
        for k in (3, 5):
            f["adaptive"][f"saved_vs_fixed_{k}"] = round(f["adaptive"][f"saved_vs_fixed_{k}"], 4)
        figures["runs"][f"simulated {kind}, seed {seed}"] = f
    if CROWD_DATA.is_dir():
        for folder in sorted(p for p in CROWD_DATA.iterdir() if (p / "answers.csv").exists()):
            print(f"real data {folder.name}", file=sys.stderr)
            figures["runs"][folder.name] = real(folder, policy)
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    figures.update(machine=machine(), code=git_commit())
    if args.no_record:
        print(json.dumps(figures))
        return
    record(command_line(), summarise(figures), figures)


if __name__ == "__main__":
    main()
