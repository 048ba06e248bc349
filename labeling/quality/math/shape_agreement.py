"""Agreement between workers on drawing and span answers, from a per-type similarity.

Pure functions: the caller passes each item's answers (worker id, answer) and a
``compare(a, b) -> float`` in [0, 1] (a task type's ``answer_similarity``). Items with fewer
than two answers carry no information about agreement and are left out.

- **Pairwise similarities**: every pair of answers on the same item; their quantiles and a
  histogram over ten bins of [0, 1].
- **Krippendorff's alpha** with the interval-free distance ``d = 1 − similarity``:
  ``alpha = 1 − D_o / D_e``. ``D_o`` is Krippendorff's observed disagreement (per item, the
  mean distance of its answer pairs, weighted by its answers: Σ_u m_u · mean_u(d) / Σ_u m_u).
  ``D_e``, the disagreement expected by chance, is the mean distance between answers to
  **different** items (Krippendorff's own D_e also pairs answers within an item; with many
  items the difference vanishes, and leaving them out keeps D_e from crediting agreement
  itself). When there are more such pairs than ``max_expected_pairs`` they are sampled
  uniformly with the fixed ``seed``, so the figure is the same on every read.
- **Per worker**: the mean similarity of their answers with the other workers' on the same
  items, and how many pairs it rests on.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HISTOGRAM_BINS = 10
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MAX_EXPECTED_PAIRS = 1000


@dataclass(frozen=True)
class ShapeAgreement:
    alpha: float  # NaN when nothing is pairable or D_e is 0
    observed_disagreement: float
    expected_disagreement: float
    pairs: int  # answer pairs on the same item
    items: int  # items with two answers or more
    mean_similarity: float  # NaN without pairs
    quantiles: dict[str, float]  # "p10", "p25", "p50", "p75", "p90"
    histogram: list[int]  # pairs per bin of [0, 0.1), ..., [0.9, 1.0]
    # worker -> (mean similarity with others on the same items, pairs)
    per_worker: dict[Hashable, tuple[float, int]] = field(default_factory=dict)
    # item -> mean similarity of its answer pairs (for the items with the least agreement)
    per_item: dict[Hashable, float] = field(default_factory=dict)


def histogram(similarities: Sequence[float], bins: int = HISTOGRAM_BINS) -> list[int]:
    """Counts over ``bins`` equal bins of [0, 1]; 1.0 falls in the last."""
    values = np.clip(np.asarray(similarities, dtype=np.float64), 0.0, 1.0)
    index = np.minimum((values * bins).astype(np.int64), bins - 1)
    return np.bincount(index, minlength=bins).tolist()


def quantiles(similarities: Sequence[float]) -> dict[str, float]:
    values = np.asarray(similarities, dtype=np.float64)
    if values.size == 0:
        return {}
    return {f"p{round(q * 100)}": float(np.quantile(values, q)) for q in QUANTILES}


def _expected_pairs(
    owners: np.ndarray, max_pairs: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Pairs (i < j) of answer indices on different items: all, or a seeded sample."""
    n = len(owners)
    total = n * (n - 1) // 2
    if total <= max_pairs * 2:
        rows, cols = np.triu_indices(n, k=1)
        keep = owners[rows] != owners[cols]
        pairs = list(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))
        if len(pairs) > max_pairs:
            chosen = rng.choice(len(pairs), max_pairs, replace=False)
            pairs = [pairs[i] for i in np.sort(chosen)]
        return pairs
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    while len(pairs) < max_pairs:
        i, j = (int(x) for x in rng.integers(0, n, 2))
        if owners[i] == owners[j]:
            continue
        pair = (min(i, j), max(i, j))
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    return pairs


def shape_agreement(
    items: Sequence[tuple[Hashable, Sequence[tuple[Hashable, Any]]]],
    compare: Callable[[Any, Any], float],
    *,
    max_expected_pairs: int = MAX_EXPECTED_PAIRS,
    seed: int = 0,
) -> ShapeAgreement:
    """``items`` is ``[(item id, [(worker id, answer), ...]), ...]``."""
    pairable = [(item, list(answers)) for item, answers in items if len(answers) >= 2]
    similarities: list[float] = []
    weighted_disagreement = 0.0
    answers_paired = 0
    per_worker_sum: dict[Hashable, float] = {}
    per_worker_pairs: dict[Hashable, int] = {}
    per_item: dict[Hashable, float] = {}
    for item, answers in pairable:
        item_scores = []
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                (worker_a, a), (worker_b, b) = answers[i], answers[j]
                score = float(np.clip(compare(a, b), 0.0, 1.0))
                item_scores.append(score)
                for worker in (worker_a, worker_b):
                    per_worker_sum[worker] = per_worker_sum.get(worker, 0.0) + score
                    per_worker_pairs[worker] = per_worker_pairs.get(worker, 0) + 1
        similarities.extend(item_scores)
        mean = float(np.mean(item_scores))
        per_item[item] = mean
        weighted_disagreement += len(answers) * (1.0 - mean)
        answers_paired += len(answers)
    nan = float("nan")
    if not similarities:
        return ShapeAgreement(nan, nan, nan, 0, 0, nan, {}, [0] * HISTOGRAM_BINS)
    observed = weighted_disagreement / answers_paired
    flat = [answer for _, answers in pairable for _, answer in answers]
    owners = np.repeat(np.arange(len(pairable)), [len(answers) for _, answers in pairable])
    rng = np.random.default_rng(seed)
    chance = [
        1.0 - float(np.clip(compare(flat[i], flat[j]), 0.0, 1.0))
        for i, j in _expected_pairs(owners, max_expected_pairs, rng)
    ]
    expected = float(np.mean(chance)) if chance else nan
    alpha = 1.0 - observed / expected if chance and expected > 0 else nan
    return ShapeAgreement(
        alpha=float(alpha),
        observed_disagreement=float(observed),
        expected_disagreement=expected,
        pairs=len(similarities),
        items=len(pairable),
        mean_similarity=float(np.mean(similarities)),
        quantiles=quantiles(similarities),
        histogram=histogram(similarities),
        per_worker={
            worker: (per_worker_sum[worker] / per_worker_pairs[worker], per_worker_pairs[worker])
            for worker in per_worker_sum
        },
        per_item=per_item,
    )
