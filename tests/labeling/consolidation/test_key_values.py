"""Consolidation of several reviewers' key values and moderation labels (pure, no database)."""

import pytest

from labeling.consolidation.key_values import (
    ReviewedPair,
    agreement_reliability,
    consolidate_key_values,
    consolidate_moderation,
    normalise,
)


def test_normalised_text_ignores_case_spaces_and_a_trailing_colon():
    assert normalise("  Total   Due: ") == "total due"
    assert normalise("TOTAL DUE") == normalise("total\tdue:")


def test_three_reviewers_per_key_majority_and_box_mean():
    box = (0.10, 0.20, 0.30, 0.05)
    near = (0.11, 0.20, 0.30, 0.05)  # IoU with box well above 0.5
    far = (0.70, 0.70, 0.10, 0.05)  # no overlap: left out of the mean
    answers = [
        [
            ReviewedPair("Total:", "12.00 EUR", (0.0, 0.2, 0.1, 0.05), box),
            ReviewedPair("Date", "2024-01-02"),
            ReviewedPair("Spam", "x"),
        ],
        [
            ReviewedPair("total", "12.00  eur", (0.0, 0.2, 0.1, 0.05), near),
            ReviewedPair("Date", "2024-01-03"),
        ],
        [
            ReviewedPair("TOTAL", "13.00 EUR", (0.0, 0.2, 0.1, 0.05), far),
            ReviewedPair("Date", "2024-01-02"),
            ReviewedPair("Name", "Ana"),
        ],
    ]
    pairs, confidence = consolidate_key_values(answers)
    by_key = {p.key: p for p in pairs}
    assert list(by_key) == ["Total:", "Date"]  # Spam and Name: one reviewer of three each
    total = by_key["Total:"]
    assert total.value == "12.00 EUR"  # the first of the two who agree, as typed
    assert total.votes == 2 and total.confidence == pytest.approx(2 / 3, abs=1e-6)
    assert total.value_box == pytest.approx((0.105, 0.20, 0.30, 0.05))  # mean of box and near
    assert by_key["Date"].value == "2024-01-02" and by_key["Date"].votes == 2
    assert confidence == pytest.approx(2 / 3, abs=1e-6)


def test_ties_go_to_the_most_reliable_reviewer_then_the_first():
    answers = [[ReviewedPair("Total", "10")], [ReviewedPair("Total", "11")]]
    pairs, _ = consolidate_key_values(answers)
    assert pairs[0].value == "10" and pairs[0].confidence == 0.5
    pairs, _ = consolidate_key_values(answers, reliability=[0.6, 0.9])
    assert pairs[0].value == "11"
    # A key only one of two reviewers kept follows the more reliable one.
    kept = [[ReviewedPair("Total", "10")], []]
    assert [p.key for p in consolidate_key_values(kept)[0]] == ["Total"]
    assert consolidate_key_values(kept, reliability=[0.5, 0.9])[0] == []


def test_unanimous_reviewers_give_confidence_one_and_nothing_gives_zero():
    answers = [[ReviewedPair("A", "1")]] * 3
    pairs, confidence = consolidate_key_values(answers)
    assert pairs[0].confidence == 1.0 and confidence == 1.0
    assert consolidate_key_values([]) == ([], 0.0)
    assert consolidate_key_values([[], []]) == ([], 1.0)  # all agree there is no key


def test_moderation_labels_by_majority_with_the_share_as_confidence():
    answers = [
        [("Violence", ""), ("Weapons", "Violence")],
        [("violence", ""), ("Alcohol", "")],
        [("Violence", ""), ("Weapons", "Violence")],
    ]
    labels, confidence = consolidate_moderation(answers)
    by_name = {x.name: x for x in labels}
    assert by_name["Violence"].chosen and by_name["Violence"].confidence == 1.0
    assert by_name["Weapons"].chosen and by_name["Weapons"].share == pytest.approx(2 / 3, abs=1e-6)
    assert by_name["Weapons"].parent_name == "Violence"
    assert not by_name["Alcohol"].chosen
    assert by_name["Alcohol"].confidence == pytest.approx(2 / 3, abs=1e-6)
    assert confidence == pytest.approx((1 + 2 / 3 + 2 / 3) / 3, abs=1e-6)
    assert consolidate_moderation([[], []]) == ([], 1.0)


def test_reliability_is_agreement_with_the_majority_over_the_job():
    items = [
        [
            (1, {"total": "10", "date": "x"}),
            (2, {"total": "10", "date": "x"}),
            (3, {"total": "99"}),
        ],
        [(1, {"total": "5"}), (2, {"total": "5"}), (3, {"total": "6"})],
        [(1, {"total": "7"})],  # one answer: nothing to compare
        [(1, {"total": "1"}), (3, {"total": "2"})],  # no majority: left out
    ]
    reliability = agreement_reliability(items)
    assert reliability[1] == reliability[2] == pytest.approx((3 + 1) / (3 + 2))
    assert reliability[3] == pytest.approx((0 + 1) / (3 + 2))
    # It breaks ties toward the reliable reviewer.
    tie = [[ReviewedPair("Total", "1")], [ReviewedPair("Total", "2")]]
    weights = [reliability[3], reliability[1]]
    assert consolidate_key_values(tie, reliability=weights)[0][0].value == "2"
