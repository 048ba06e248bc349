"""Rankings: plain Borda against Borda weighted by worker reliability (``ranking_fit``,
``labeling/consolidation/ranking.py``) on simulated annotators.

    .venv/bin/python bench/rankings.py

2,000 prompts, each with 4 responses in a true order. 100 annotators: 55 reliable (each
adjacent pair of the true order swapped with probability 0.1, three passes), 25 mediocre
(0.3), 10 random spammers (a random order), 5 position-biased (always the order shown, which
is random with respect to the truth) — these 15 answer twice as often — and 5 adversaries
(the reversed order, then 0.1 noise). Every prompt has a queue of 7 distinct annotators;
with k answers per prompt both methods see the same first k. Exact accuracy: the share of
prompts whose consolidated order is the true one (a tie counts as wrong); pair accuracy: the
share of response pairs ordered as in the truth. Three seeds; their mean.
"""

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from labeling.consolidation.ranking import aggregate_ranks, ranking_fit  # noqa: E402

N_PROMPTS, N_RESPONSES, QUEUE, SEEDS = 2_000, 4, 7, (1, 2, 3)
CROWD = (("reliable", 55, 0.1), ("mediocre", 25, 0.3), ("spammer", 10, None),
         ("position", 5, None), ("adversary", 5, 0.1))  # fmt: skip


def noisy(order: np.ndarray, swap: float, rng) -> np.ndarray:
    order = order.copy()
    for _ in range(3):
        for i in range(len(order) - 1):
            if rng.random() < swap:
                order[i], order[i + 1] = order[i + 1], order[i]
    return order


def answer(kind: str, swap, truth_ranks: np.ndarray, rng) -> np.ndarray:
    """One annotator's ranks (1 = best) of the responses."""
    best_first = np.argsort(truth_ranks)
    if kind == "spammer":
        order = rng.permutation(N_RESPONSES)
    elif kind == "position":
        order = np.arange(N_RESPONSES)  # the order shown; the truth is random against it
    elif kind == "adversary":
        order = noisy(best_first[::-1], swap, rng)
    else:
        order = noisy(best_first, swap, rng)
    ranks = np.empty(N_RESPONSES)
    ranks[order] = np.arange(1, N_RESPONSES + 1)
    return ranks


def run(seed: int) -> dict[int, tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    kinds = [(kind, swap) for kind, count, swap in CROWD for _ in range(count)]
    activity = np.array([2.0 if k in ("spammer", "position") else 1.0 for k, _ in kinds])
    activity /= activity.sum()
    truth = np.array([rng.permutation(N_RESPONSES) + 1 for _ in range(N_PROMPTS)], dtype=float)
    queues = [rng.choice(len(kinds), QUEUE, replace=False, p=activity) for _ in range(N_PROMPTS)]
    answers = [
        np.array([answer(*kinds[w], truth[p], rng) for w in queue])
        for p, queue in enumerate(queues)
    ]
    results = {}
    for k in (1, 3, 5, 7):
        groups = [a[:k] for a in answers]
        workers = [q[:k] for q in queues]
        fit = ranking_fit(groups, workers, n_workers=len(kinds))
        scores = []
        for weights in (None, fit.weight):
            exact = pairs = 0.0
            for p in range(N_PROMPTS):
                w = None if weights is None else weights[workers[p]]
                ranks = np.array(aggregate_ranks(groups[p], w)[0])
                exact += float(np.array_equal(ranks, truth[p]))
                first, second = np.triu_indices(N_RESPONSES, k=1)
                pairs += float(
                    np.mean(
                        np.sign(ranks[first] - ranks[second])
                        == np.sign(truth[p][first] - truth[p][second])
                    )
                )
            scores += [exact / N_PROMPTS, pairs / N_PROMPTS]
        results[k] = tuple(scores)
    return results


def main() -> None:
    per_seed = [run(seed) for seed in SEEDS]
    print("k  borda-exact  weighted-exact  borda-pairs  weighted-pairs")
    for k in per_seed[0]:
        mean = np.mean([r[k] for r in per_seed], axis=0)
        print(
            f"{k}  {mean[0]:.3f}        {mean[2]:.3f}           {mean[1]:.3f}        {mean[3]:.3f}"
        )


if __name__ == "__main__":
    main()
