"""Majority vote on arrays, without a database."""

import numpy as np
import pytest

from labeling.consolidation import MajorityVote
from labeling.consolidation.base import MISSING


def test_majority_picks_the_most_chosen_class_with_its_share_as_confidence():
    votes = np.array([[0, 0, 1], [2, 2, 2], [1, 0, 1]])
    winners, confidence = MajorityVote().consolidate(votes, n_classes=3)
    assert winners.tolist() == [0, 2, 1]
    assert confidence == pytest.approx([2 / 3, 1.0, 2 / 3])


def test_ties_go_to_the_class_listed_first_whatever_the_answer_order():
    forward = MajorityVote().consolidate(np.array([[2, 1]]), n_classes=3)
    backward = MajorityVote().consolidate(np.array([[1, 2]]), n_classes=3)
    assert forward[0].tolist() == backward[0].tolist() == [1]
    assert forward[1].tolist() == [0.5]


def test_missing_answers_are_not_votes():
    votes = np.array([[MISSING, 2, MISSING], [MISSING, MISSING, MISSING]])
    winners, confidence = MajorityVote().consolidate(votes, n_classes=3)
    assert winners.tolist() == [2, MISSING]
    assert confidence.tolist() == [1.0, 0.0]


def test_a_vote_outside_the_classes_is_refused():
    with pytest.raises(ValueError, match="outside"):
        MajorityVote().consolidate(np.array([[3]]), n_classes=3)
