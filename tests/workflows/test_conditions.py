"""Activation conditions and sampling: pure functions, no database."""

import pytest

from workflows.conditions import ConditionProblem, decide, matches, sampled, validate_conditions

TREE = {
    "any": [
        {"confidence_below": 0.5},
        {"label_confidence_below": {"spam": 0.95}},
        {"all": [{"label_in": ["fraud"]}, {"confidence_below": 0.99}]},
    ]
}


@pytest.mark.parametrize(
    ("label", "confidence", "expected"),
    [
        ("ham", 0.4, True),  # under the global threshold
        ("ham", 0.9, False),
        ("spam", 0.9, True),  # under spam's own threshold
        ("spam", 0.97, False),
        ("fraud", 0.98, True),  # the nested all: label in set and under 0.99
        ("fraud", 0.995, False),
        ("ham", None, True),  # no confidence counts as 0
    ],
)
def test_a_two_level_tree_decides_by_label_and_confidence(label, confidence, expected):
    assert matches(validate_conditions(TREE), label=label, confidence=confidence) is expected


@pytest.mark.parametrize(
    "tree",
    [
        {"any": [{"all": [{"any": [{"confidence_below": 0.5}]}]}]},  # three levels
        {"confidence_below": 1.5},
        {"label_in": []},
        {"unknown": 1},
        {"any": []},
        {"confidence_below": 0.5, "label_in": ["a"]},
        [],
    ],
)
def test_trees_outside_the_grammar_are_refused(tree):
    with pytest.raises(ConditionProblem):
        validate_conditions(tree)


def test_no_conditions_send_nothing_to_review():
    assert validate_conditions({}) == {}
    assert matches({}, label="x", confidence=0.0) is False


def test_sampling_is_deterministic_for_the_same_content_and_near_its_rate():
    contents = [{"text": f"item {i}", "meta": {"n": i}} for i in range(20_000)]
    first = [sampled(c, 10, salt="7") for c in contents]
    reordered = [{"meta": {"n": i}, "text": f"item {i}"} for i in range(20_000)]
    assert first == [sampled(c, 10, salt="7") for c in reordered]  # key order does not matter
    share = sum(first) / len(first)
    assert 0.09 < share < 0.11
    assert sum(sampled(c, 0.01, salt="7") for c in contents) < 20
    assert all(sampled(c, 100, salt="7") for c in contents[:100])
    assert not any(sampled(c, None) for c in contents[:100])


def test_decide_names_why_a_prediction_goes_to_review():
    verdict = decide({"confidence_below": 0.5}, 100, content={"a": 1}, label="x", confidence=0.1)
    assert verdict.review and verdict.reason == "condition+sample"
    verdict = decide({"confidence_below": 0.5}, None, content={"a": 1}, label="x", confidence=0.9)
    assert not verdict.review and verdict.reason == ""
