"""Query strategies score uncertainty; the least certain item scores highest."""

import numpy as np
import pytest

from active_learning.labelspace import LabelSpace
from active_learning.strategies import get_strategy, strategy_choices

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
