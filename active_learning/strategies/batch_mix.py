"""Margin sampling that spreads each batch (issue 19 point 4): the plain margin order sends a
whole batch to the one confusion the model is least sure of (all shirt/T-shirt), so these
orders mix it. ``margin_diverse`` takes the least certain items by turns over the class pairs
they are torn between; ``margin_mix`` gives a fixed share of the queue to items drawn at random
among all that wait (out-of-sample labels where the thresholds act), the rest by margin.

The human queue is one total order, so each returns ranks as scores: the first item to ask
scores 1, the last 1/n. They read the ``QueryContext`` (the next batch's size, the round and
the job for a repeatable draw); without it the batch is ``DEFAULT_BATCH`` and the draw is
seeded by the probabilities, like ``random``."""

import zlib
from dataclasses import dataclass

import numpy as np

from active_learning.strategies.base import QueryContext, register_strategy
from active_learning.strategies.margin import MARGIN

DEFAULT_BATCH = 50
# The diverse order takes turns over the class pairs among this many batches' worth of the
# least certain items; the rest follow in margin order.
CANDIDATE_BATCHES = 3


def _rank_scores(order: np.ndarray) -> np.ndarray:
    """Scores in (0, 1] from an order (positions of the items, first to ask first)."""
    n = len(order)
    scores = np.empty(n)
    scores[order] = 1.0 - np.arange(n) / n
    return scores


def _pairs_by_turns(probabilities: np.ndarray, order: np.ndarray, head: int) -> np.ndarray:
    """The first ``head`` items of ``order`` reordered by turns over the pair of classes each
    is torn between (its two likeliest): every pair's least certain item, in margin order,
    then every pair's second, and so on; the rest of ``order`` unchanged after them."""
    head_rows = order[:head]
    top_two = np.sort(np.argsort(probabilities[head_rows], axis=1)[:, -2:], axis=1)
    turn = np.empty(len(head_rows), dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    for position, pair in enumerate(map(tuple, top_two.tolist())):
        turn[position] = seen.get(pair, 0)
        seen[pair] = turn[position] + 1
    # Stable: within a turn, margin order.
    return np.concatenate([head_rows[np.argsort(turn, kind="stable")], order[head:]])


@dataclass(frozen=True)
class MarginBatchMix:
    key: str
    title: str
    diverse: bool = False
    share_random: float = 0.0
    uses_context: bool = True

    def uncertainty(
        self, probabilities: np.ndarray, context: QueryContext | None = None
    ) -> np.ndarray:
        probabilities = np.ascontiguousarray(probabilities, dtype=np.float64)
        n = len(probabilities)
        if n == 0 or probabilities.shape[1] < 2:
            return np.zeros(n)
        batch = max(1, context.batch_size) if context is not None else DEFAULT_BATCH
        by_margin = np.argsort(-MARGIN.uncertainty(probabilities), kind="stable")
        picked = np.zeros(n, dtype=bool)
        drawn = np.empty(0, dtype=np.int64)
        if self.share_random > 0:
            if context is not None:
                rng = np.random.default_rng([context.seed, context.round_number])
            else:
                rng = np.random.default_rng(zlib.crc32(probabilities.tobytes()))
            positions = np.arange(n)
            # Evenly spaced: position i is a random one when floor((i+1)s) > floor(i s).
            random_slot = np.floor((positions + 1) * self.share_random) > np.floor(
                positions * self.share_random
            )
            drawn = rng.permutation(n)[: int(random_slot.sum())]
            picked[drawn] = True
        rest = by_margin[~picked[by_margin]]
        if self.diverse:
            rest = _pairs_by_turns(probabilities, rest, CANDIDATE_BATCHES * batch)
        if not len(drawn):
            return _rank_scores(rest)
        order = np.empty(n, dtype=np.int64)
        order[random_slot] = drawn
        order[~random_slot] = rest
        return _rank_scores(order)


MARGIN_DIVERSE = register_strategy(
    MarginBatchMix(
        key="margin_diverse",
        title="Smallest margin, by turns over the class pairs the items are torn between",
        diverse=True,
    )
)
MARGIN_MIX = register_strategy(
    MarginBatchMix(
        key="margin_mix",
        title="Smallest margin, a quarter of the queue drawn at random",
        share_random=0.25,
    )
)
