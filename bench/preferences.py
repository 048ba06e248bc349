"""Pairwise preferences: majority vote against Crowd-BT (Bradley–Terry with per-worker
reliability, ``labeling/consolidation/bradley_terry.py``) on simulated annotators.

    .venv/bin/python bench/preferences.py [--no-record]

2,000 prompts, each a pair (A, B) with a true preference and a difficulty (a close pair pulls
every annotator towards a coin flip and towards "tie"). 100 annotators of varied reliability:
55 reliable (η 0.75–0.95), 25 mediocre (0.6–0.75), 10 random spammers and 5 who always
answer "A" (position bias), all answering twice as often as the others, and 5 adversarial
(η 0.1–0.25). Every prompt has a queue of 9 answers by distinct annotators; with k answers
per prompt (the first k of each queue) both methods see the very same answers. Majority
vote: the side with more decisive answers (ties left out; an even split is a coin flip).
Crowd-BT: the job-wide EM fit over the same answers (an even posterior is a coin flip).
Accuracy is the share of prompts whose consolidated preference is the true one.
"Answers saved at equal accuracy": for majority vote with k answers per prompt, the fewest
answers per prompt with which Crowd-BT is at least as accurate, and the share saved.
Three seeds; the figures are per seed and their mean.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from labeling.consolidation.bradley_terry import FIRST, SECOND, TIE, crowd_bt, vote  # noqa: E402

N_PROMPTS = 2_000
QUEUE = 9
SEEDS = (1, 2, 3)
CROWD = {"reliable": 55, "mediocre": 25, "random spammers": 10, "always-A": 5, "adversarial": 5}


def simulate(seed: int):
    rng = np.random.default_rng(seed)
    eta = np.concatenate(
        [
            rng.uniform(0.75, 0.95, CROWD["reliable"]),
            rng.uniform(0.6, 0.75, CROWD["mediocre"]),
            np.full(CROWD["random spammers"] + CROWD["always-A"], 0.5),
            rng.uniform(0.1, 0.25, CROWD["adversarial"]),
        ]
    )
    n_workers = len(eta)
    first_spammer = CROWD["reliable"] + CROWD["mediocre"]
    first_always_a = first_spammer + CROWD["random spammers"]
    always_a = np.zeros(n_workers, dtype=bool)
    always_a[first_always_a : first_always_a + CROWD["always-A"]] = True
    spammer = np.zeros(n_workers, dtype=bool)
    spammer[first_spammer : first_spammer + CROWD["random spammers"] + CROWD["always-A"]] = True
    activity = np.where(spammer, 2.0, 1.0)
    activity /= activity.sum()
    truth = rng.integers(0, 2, N_PROMPTS).astype(np.float64)  # 1: A better
    closeness = rng.beta(1.2, 3.0, N_PROMPTS)  # most pairs clear, some close
    queues = np.stack(
        [rng.choice(n_workers, QUEUE, replace=False, p=activity) for _ in range(N_PROMPTS)]
    )
    outcomes = np.empty((N_PROMPTS, QUEUE))
    for i in range(N_PROMPTS):
        for slot, w in enumerate(queues[i]):
            if always_a[w]:
                outcomes[i, slot] = FIRST
                continue
            if spammer[w]:
                outcomes[i, slot] = rng.choice((FIRST, SECOND, TIE))
                continue
            if rng.random() < 0.35 * closeness[i]:
                outcomes[i, slot] = TIE
                continue
            right = rng.random() < 0.5 + (eta[w] - 0.5) * (1.0 - closeness[i])
            outcomes[i, slot] = truth[i] if right else 1.0 - truth[i]
    return truth, queues, outcomes, n_workers


def accuracy(p_first: np.ndarray, truth: np.ndarray, rng) -> float:
    coin = rng.random(len(p_first)) < 0.5
    said_a = np.where(p_first == 0.5, coin, p_first > 0.5)
    return float(np.mean(said_a == (truth == 1)))


def run(seed: int) -> dict:
    truth, queues, outcomes, n_workers = simulate(seed)
    rng = np.random.default_rng(seed + 100)
    figures = {"majority": {}, "crowd_bt": {}, "iterations": {}}
    for k in range(1, QUEUE + 1):
        items = np.repeat(np.arange(N_PROMPTS), k)
        workers = queues[:, :k].reshape(-1)
        answers = outcomes[:, :k].reshape(-1)
        share, _ = vote(items, answers, N_PROMPTS)
        fit = crowd_bt(items, workers, answers, n_items=N_PROMPTS, n_workers=n_workers)
        figures["majority"][k] = round(accuracy(share, truth, rng), 4)
        figures["crowd_bt"][k] = round(accuracy(fit.p_first, truth, rng), 4)
        figures["iterations"][k] = fit.iterations
    figures["saved"] = {}
    for k in (3, 5, 7, 9):
        target = figures["majority"][k]
        enough = [j for j in range(1, QUEUE + 1) if figures["crowd_bt"][j] >= target]
        j = enough[0] if enough else None
        figures["saved"][k] = {
            "crowd_bt_answers_per_prompt": j,
            "saved_share": round(1 - j / k, 4) if j else None,
        }
    return figures


def summarise(figures: dict) -> str:
    mean = figures["mean"]
    parts = [
        f"k={k}: majority {mean['majority'][k]:.3f}, Crowd-BT {mean['crowd_bt'][k]:.3f}"
        for k in (1, 3, 5, 7, 9)
    ]
    saved = []
    for k in (3, 5, 9):
        per_seed = [s["saved"][k]["crowd_bt_answers_per_prompt"] for s in figures["seeds"].values()]
        saved.append(f"majority at k={k} matched by Crowd-BT at k={'/'.join(map(str, per_seed))}")
    return (
        f"{N_PROMPTS} prompts, 100 annotators (55 reliable, 25 mediocre, 15 spammers, "
        f"5 adversarial), mean accuracy over seeds {list(SEEDS)}: "
        + "; ".join(parts) + "; " + "; ".join(saved) + " (per seed)"
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    seeds = {}
    for seed in SEEDS:
        print(f"seed {seed}", file=sys.stderr)
        seeds[str(seed)] = run(seed)
    mean = {
        name: {
            k: round(float(np.mean([s[name][k] for s in seeds.values()])), 4)
            for k in range(1, QUEUE + 1)
        }
        for name in ("majority", "crowd_bt")
    }
    figures = {"prompts": N_PROMPTS, "crowd": CROWD, "queue": QUEUE, "seeds": seeds, "mean": mean}
    if args.no_record:
        print(json.dumps(figures))
        return
    from _harness import command_line, git_commit, record  # noqa: PLC0415 - needs psycopg
    from _probes import machine  # noqa: PLC0415

    figures.update(machine=machine(), code=git_commit())
    record(command_line(), summarise(figures), figures)


if __name__ == "__main__":
    main()
