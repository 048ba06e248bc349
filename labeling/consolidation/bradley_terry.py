"""Pairwise preferences (response A vs response B): Bradley–Terry with per-worker reliability.

Crowd-BT (Chen et al., 2013) models a worker ``w`` comparing ``i`` and ``j`` as
``P(w says i > j) = η_w · σ(s_i − s_j) + (1 − η_w) · σ(s_j − s_i)``: with probability η_w
the worker reports the true Bradley–Terry preference, otherwise its opposite (η_w ≈ 0.5 is
a spammer, η_w < 0.5 an adversary whose answers are informative once flipped). In an LLM
evaluation job each item is one pair (A, B), so the score difference of an item is one
latent number and its BT probability ``σ(s_A − s_B)`` is the posterior that A is better.

``crowd_bt`` fits η per worker and that posterior per item by EM over a whole job: the E
step sums each answer's log-likelihood ratio ``±log(η/(1−η))`` (from an even prior), the
M step sets η_w to the worker's expected agreement (with a Beta(3, 2) prior, so a worker
with few answers stays near 0.6). Ties say nothing about which is better: they count
towards the item's tie share, not towards η. ``vote`` is the per-item majority (the
baseline, and the method when no worker estimates exist). Pure numpy; no database.
"""

from dataclasses import dataclass

import numpy as np

FIRST, SECOND, TIE = 1.0, 0.0, 0.5
CROWD_BT = "crowd-bradley-terry"
PREFERENCE_VOTE = "preference-vote"
PRIOR_AGREE, PRIOR_DISAGREE = 3.0, 2.0  # Beta prior of η: a mean of 0.6
ETA_BOUNDS = (0.02, 0.98)


@dataclass(frozen=True)
class PreferenceFit:
    """``p_first[i]``: the probability that item i's first response (A) is better;
    ``tie_share[i]``: the share of its answers that were ties; ``eta[w]``: worker w's
    reliability; ``iterations``: EM steps run."""

    p_first: np.ndarray
    tie_share: np.ndarray
    eta: np.ndarray
    iterations: int


def _check(items: np.ndarray, workers: np.ndarray, outcomes: np.ndarray) -> None:
    if not (items.shape == workers.shape == outcomes.shape) or items.ndim != 1:
        raise ValueError("items, workers and outcomes must be 1-D arrays of one length")
    if outcomes.size and not np.all(np.isin(outcomes, (FIRST, SECOND, TIE))):
        raise ValueError("an outcome must be 1 (first better), 0 (second better) or 0.5 (tie)")


def _tie_share(items: np.ndarray, outcomes: np.ndarray, n_items: int) -> np.ndarray:
    counts = np.bincount(items, minlength=n_items).astype(np.float64)
    ties = np.bincount(items, weights=(outcomes == TIE).astype(np.float64), minlength=n_items)
    return np.divide(ties, counts, out=np.zeros(n_items), where=counts > 0)


def vote(items: np.ndarray, outcomes: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Majority vote per item: (share of the decisive answers for the first response,
    tie share). Ties are left out of the share; an item with none decisive gets 0.5."""
    items = np.asarray(items, dtype=np.int64)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    decisive = outcomes != TIE
    n = np.bincount(items[decisive], minlength=n_items).astype(np.float64)
    first = np.bincount(items[decisive], weights=outcomes[decisive], minlength=n_items).astype(
        np.float64
    )
    share = np.divide(first, n, out=np.full(n_items, 0.5), where=n > 0)
    return share, _tie_share(items, outcomes, n_items)


def crowd_bt(
    items: np.ndarray,
    workers: np.ndarray,
    outcomes: np.ndarray,
    *,
    n_items: int,
    n_workers: int,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> PreferenceFit:
    """Fit item preferences and worker reliabilities (see the module's docstring).

    One entry per answer: ``items[k]`` (0..n_items−1), ``workers[k]`` (0..n_workers−1),
    ``outcomes[k]`` 1 (A better), 0 (B better) or 0.5 (tie).
    """
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    _check(items, workers, outcomes)
    share, ties = vote(items, outcomes, n_items)
    decisive = outcomes != TIE
    di, dw, dv = items[decisive], workers[decisive], outcomes[decisive]
    sign = np.where(dv == FIRST, 1.0, -1.0)
    # Start from the majority, so the reliable side of the label-flip symmetry is chosen.
    p = np.clip(share, 0.01, 0.99)
    eta = np.full(n_workers, 0.6)
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported)
        # M step: η_w is the expected share of w's decisive answers that agree with the truth.
        agree = np.where(dv == FIRST, p[di], 1.0 - p[di])
        agreed = np.bincount(dw, weights=agree, minlength=n_workers)
        answered = np.bincount(dw, minlength=n_workers).astype(np.float64)
        eta = (agreed + PRIOR_AGREE - 1.0) / (answered + PRIOR_AGREE + PRIOR_DISAGREE - 2.0)
        eta = np.clip(eta, *ETA_BOUNDS)
        # E step: the posterior log-odds of "A is better" per item, from an even prior (which
        # response is A is arbitrary; a prior learned from the answers would feed on a
        # position bias, e.g. annotators who always answer A, and pull every item to one side).
        weight = np.log(eta / (1.0 - eta))
        log_odds = np.bincount(di, weights=sign * weight[dw], minlength=n_items)
        new_p = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50.0, 50.0)))
        change = float(np.max(np.abs(new_p - p))) if n_items else 0.0
        p = new_p
        if change < tolerance:
            break
    return PreferenceFit(p_first=p, tie_share=ties, eta=eta, iterations=iterations)


def item_preference(
    outcomes: list[float], eta: list[float] | None = None
) -> tuple[str, float, float]:
    """One item's consolidated preference: ("A" | "B" | "tie", confidence, P(A better)).

    Without ``eta`` (one reliability per answer) it is the majority of the decisive answers;
    with it, the reliability-weighted log-odds as in ``crowd_bt``'s E step (even prior).
    The item is a tie when more than half of its answers were ties, or when the decisive
    ones cancel out exactly; the confidence is the winning side's probability (the tie
    share for a tie).
    """
    values = np.asarray(outcomes, dtype=np.float64)
    if values.size == 0:
        return "tie", 0.0, 0.5
    tie_share = float(np.mean(values == TIE))
    decisive = values != TIE
    if eta is None:
        n = int(decisive.sum())
        p_first = float(values[decisive].mean()) if n else 0.5
    else:
        rel = np.clip(np.asarray(eta, dtype=np.float64), *ETA_BOUNDS)
        sign = np.where(values == FIRST, 1.0, -1.0)
        log_odds = float(np.sum((sign * np.log(rel / (1.0 - rel)))[decisive]))
        p_first = float(1.0 / (1.0 + np.exp(-np.clip(log_odds, -50.0, 50.0))))
    if tie_share > 0.5 or p_first == 0.5:
        return "tie", (tie_share if tie_share > 0.5 else 0.5), p_first
    if p_first > 0.5:
        return "A", p_first, p_first
    return "B", 1.0 - p_first, p_first
