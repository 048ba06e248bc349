"""Weighted votes for multi-label answers."""

import numpy as np
import pytest

from labeling.consolidation.weighted_multilabel import weighted_multilabel


def test_a_label_is_in_when_its_weighted_share_reaches_half():
    items = np.array([0, 0, 0, 1, 1])
    chosen = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [0, 1, 0], [1, 1, 0]])
    selected, share = weighted_multilabel(items, chosen, n_items=3)
    assert selected[0].tolist() == [True, False, True]
    assert share[0] == pytest.approx([2 / 3, 1 / 3, 2 / 3])
    assert selected[1].tolist() == [True, True, False]
    assert selected[2].tolist() == [False, False, False]  # no answers, no labels


def test_a_reliable_worker_outweighs_two_unreliable_ones():
    items = np.array([0, 0, 0])
    chosen = np.array([[1, 0], [0, 1], [0, 1]])
    selected, share = weighted_multilabel(
        items, chosen, n_items=1, weights=np.array([0.95, 0.3, 0.3])
    )
    assert selected[0].tolist() == [True, False]
    assert share[0][0] == pytest.approx(0.95 / 1.55)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError):
        weighted_multilabel([0], [[1]], n_items=1, weights=[-1.0])
