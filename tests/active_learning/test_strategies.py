"""Query strategies score uncertainty; the least certain item scores highest."""

import numpy as np
import pytest

from active_learning.labelspace import LabelSpace
from active_learning.strategies import get_strategy, strategy_choices
from active_learning.strategies.base import QueryContext

SURE = [0.98, 0.01, 0.01]
SPLIT = [0.49, 0.48, 0.03]
FLAT = [1 / 3, 1 / 3, 1 / 3]


@pytest.mark.parametrize("key", ["margin", "entropy", "least_confidence"])
def test_each_strategy_puts_the_flat_and_split_items_before_the_sure_one(key):
    scores = get_strategy(key).uncertainty(np.array([SURE, SPLIT, FLAT]))
    assert scores.shape == (3,)
    assert scores[0] < scores[1] <= scores[2] + 1e-9
    assert np.all((scores >= 0) & (scores <= 1 + 1e-9))


def test_the_strategies_give_their_textbook_values():
    probabilities = np.array([SPLIT])
    assert get_strategy("margin").uncertainty(probabilities)[0] == pytest.approx(1 - 0.01)
    assert get_strategy("least_confidence").uncertainty(probabilities)[0] == pytest.approx(0.51)
    expected = -sum(p * np.log(p) for p in SPLIT) / np.log(3)
    assert get_strategy("entropy").uncertainty(probabilities)[0] == pytest.approx(expected)
    assert get_strategy("entropy").uncertainty(np.array([FLAT]))[0] == pytest.approx(1.0)


def test_an_unknown_strategy_is_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="margin"):
        get_strategy("coin-flip")
    assert {"margin", "entropy", "least_confidence"} <= {key for key, _ in strategy_choices()}


def test_random_order_ignores_the_probabilities_and_repeats_for_the_same_pool():
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(3), size=400)
    random_order = get_strategy("random")
    scores = random_order.uncertainty(probabilities)
    assert np.array_equal(scores, random_order.uncertainty(probabilities.copy()))
    assert np.all((scores >= 0) & (scores < 1))
    # No relation to the margin: about as many of the least certain half rank in its top half.
    margin = get_strategy("margin").uncertainty(probabilities)
    uncertain = margin >= np.median(margin)
    assert 0.4 < (scores[uncertain] >= np.median(scores)).mean() < 0.6
    # A new model (other probabilities) gives a new order.
    assert not np.array_equal(scores, random_order.uncertainty(probabilities[::-1]))


def test_random_order_applies_to_multilabel_jobs_where_uncertainty_strategies_do_not():
    space = LabelSpace(("a", "b", "c"), multilabel=True)
    probabilities = np.random.default_rng(5).random((50, 3))
    random_order = get_strategy("random")
    assert np.array_equal(
        space.uncertainty(probabilities, random_order), random_order.uncertainty(probabilities)
    )
    # The others: 1 − P(the whole set is right), whatever the strategy says.
    expected = 1 - space.confidence(probabilities)
    assert np.allclose(space.uncertainty(probabilities, get_strategy("margin")), expected)


def _pool_of_two_confusions():
    """Six items torn between classes 0 and 1 (margins 0.00 … 0.05), three between 1 and 2
    (margins 0.10 … 0.12), then five sure ones: the first batch of margin order is all 0/1."""
    torn_01 = [
        [0.5 - d / 2, 0.5 + d / 2 - 0.001, 0.001] for d in (0.0, 0.01, 0.02, 0.03, 0.04, 0.05)
    ]
    torn_12 = [[0.001, 0.5 + d / 2, 0.499 - d / 2] for d in (0.10, 0.11, 0.12)]
    sure = [[0.98, 0.01, 0.01]] * 5
    return np.array(torn_01 + torn_12 + sure)


def test_margin_diverse_takes_turns_over_the_class_pairs_among_the_least_certain():
    probabilities = _pool_of_two_confusions()
    context = QueryContext(batch_size=3, round_number=2, seed=7)
    scores = get_strategy("margin_diverse").uncertainty(probabilities, context)
    order = np.argsort(-scores, kind="stable").tolist()
    # Candidates: three batches (9 items, the two confusions): 0/1, 1/2, 0/1, 1/2, …
    assert order[:9] == [0, 6, 1, 7, 2, 8, 3, 4, 5]
    assert order[9:] == [9, 10, 11, 12, 13]  # then margin order (ties by position)
    margin_order = np.argsort(-get_strategy("margin").uncertainty(probabilities), kind="stable")
    assert margin_order[:3].tolist() == [0, 1, 2]  # plain margin: one confusion per batch
    # Ranks as scores: distinct, first 1, last 1/n.
    assert np.allclose(np.sort(scores), np.arange(1, 15) / 14)
    # A smaller candidate set (batch 1: 3 items) leaves the 1/2 items behind the 0/1 ones.
    narrow = get_strategy("margin_diverse").uncertainty(
        probabilities, QueryContext(batch_size=1, round_number=2, seed=7)
    )
    assert np.argsort(-narrow, kind="stable")[:4].tolist() == [0, 1, 2, 3]


def test_margin_mix_gives_every_fourth_place_to_a_random_item_and_repeats_per_round():
    rng = np.random.default_rng(11)
    probabilities = rng.dirichlet(np.ones(4), size=400)
    mix = get_strategy("margin_mix")
    context = QueryContext(batch_size=40, round_number=3, seed=5)
    scores = mix.uncertainty(probabilities, context)
    assert np.array_equal(scores, mix.uncertainty(probabilities.copy(), context))
    order = np.argsort(-scores, kind="stable")
    assert len(set(order.tolist())) == 400 and np.all((scores > 0) & (scores <= 1))
    drawn = order[3::4]  # places 4, 8, 12, …: the random ones
    by_margin = np.argsort(-get_strategy("margin").uncertainty(probabilities), kind="stable")
    rest = [row for row in by_margin.tolist() if row not in set(drawn.tolist())]
    assert np.delete(order, np.s_[3::4]).tolist() == rest
    # The random places are a sample of the whole pool: about half from the sure half.
    margin = get_strategy("margin").uncertainty(probabilities)
    sure = margin < np.median(margin)
    assert 0.35 < sure[drawn].mean() < 0.65
    # Another round (or job) draws another sample; no context: seeded by the probabilities.
    other = mix.uncertainty(probabilities, QueryContext(batch_size=40, round_number=4, seed=5))
    assert not np.array_equal(scores, other)
    assert np.array_equal(mix.uncertainty(probabilities), mix.uncertainty(probabilities))


def test_the_label_space_hands_the_context_only_to_strategies_that_ask_for_it():
    space = LabelSpace(("a", "b", "c"), multilabel=False)
    probabilities = _pool_of_two_confusions()
    context = QueryContext(batch_size=3, round_number=1, seed=1)
    assert np.array_equal(
        space.uncertainty(probabilities, get_strategy("margin"), context),
        get_strategy("margin").uncertainty(probabilities),
    )
    diverse = get_strategy("margin_diverse")
    assert np.array_equal(
        space.uncertainty(probabilities, diverse, context),
        diverse.uncertainty(probabilities, context),
    )
    assert {"margin_diverse", "margin_mix"} <= {key for key, _ in strategy_choices()}
