"""The built-in reviews' activation conditions on the AI service's answer (pure), and how
CreateFlowDefinition's documents translate into them."""

import pytest

from control_plane.services.flow_definitions import ConditionsRefused, activation_conditions
from tests.workflows.builtin_inputs import moderation_input, pair, textract_input
from workflows.conditions import ConditionProblem, matches, validate_conditions
from workflows.inference import (
    REKOGNITION_MODERATION,
    TEXTRACT_FORMS,
    InputProblem,
    activation,
    important_form_keys,
    loop_inference,
    review_line,
    review_threshold,
)

INVOICE = textract_input(
    pair(1, "Total:", "12.00", 95.0, 70.0, word_confidence=60.0),
    pair(2, "Date", "2024-01-02", 99.0, 99.0),
)
IMAGE = moderation_input(("Violence", "", 88.0), ("Weapons", "Violence", 51.5))


def holds(tree, content, source):
    tree = validate_conditions(tree)
    return matches(tree, label="", confidence=None, inference=loop_inference(source, content))


def form(tree, content=INVOICE):
    return holds(tree, content, TEXTRACT_FORMS)


def moderation(tree, content=IMAGE):
    return holds(tree, content, REKOGNITION_MODERATION)


def test_the_input_is_read_in_either_spelling():
    found = loop_inference(TEXTRACT_FORMS, INVOICE)
    assert found.image_ref == "s3://docs/invoice.png"
    assert [(p.key, p.value, p.confidence, p.word_confidence) for p in found.pairs] == [
        ("Total:", "12.00", 70.0, 60.0),
        ("Date", "2024-01-02", 99.0, 99.0),
    ]
    assert found.pairs[0].key_box == pytest.approx((0.1, 0.1, 0.2, 0.04))
    assert loop_inference(REKOGNITION_MODERATION, IMAGE).image_ref == "s3://pics/a.jpg"
    with pytest.raises(InputProblem, match="aiServiceResponse.blocks"):
        loop_inference(TEXTRACT_FORMS, {"source": "text"})
    with pytest.raises(InputProblem, match="moderationLabels"):
        loop_inference(REKOGNITION_MODERATION, INVOICE)


def test_important_key_confidence_with_its_edges():
    # The pair's key-value confidence is the lower of its blocks': 70.
    assert form({"form_key_confidence": {"key": "total", "key_value": {"below": 0.71}}})
    assert not form({"form_key_confidence": {"key": "Total", "key_value": {"below": 0.70}}})
    assert form({"form_key_confidence": {"key": "Total", "key_value": {"at_most": 0.70}}})
    assert form({"form_key_confidence": {"key": "Total", "key_value": {"equals": 0.70}}})
    assert not form({"form_key_confidence": {"key": "Total", "key_value": {"above": 0.70}}})
    assert form(
        {"form_key_confidence": {"key": "Total", "key_value": {"at_least": 0.5, "below": 0.8}}}
    )
    # Every range given must hold: the words' lowest confidence is 60.
    leaf = {"key": "Total", "key_value": {"below": 0.9}, "word": {"below": 0.6}}
    assert not form({"form_key_confidence": leaf})
    assert form({"form_key_confidence": {**leaf, "word": {"at_most": 0.6}}})
    # Aliases, and * for any key.
    assert form(
        {"form_key_confidence": {"key": "Amount", "aliases": ["TOTAL"], "word": {"below": 0.61}}}
    )
    assert not form({"form_key_confidence": {"key": "Amount", "key_value": {"below": 1}}})
    assert form({"form_key_confidence": {"key": "*", "key_value": {"at_least": 0.99}}})


def test_missing_important_key():
    assert form({"form_key_missing": {"key": "Invoice number"}})
    assert not form({"form_key_missing": {"key": "date:"}})
    assert not form({"form_key_missing": {"key": "Issued", "aliases": ["Date"]}})


def test_moderation_label_confidence_in_a_range():
    assert moderation({"moderation_label_confidence": {"label": "Weapons", "below": 0.6}})
    assert not moderation({"moderation_label_confidence": {"label": "Weapons", "above": 0.6}})
    assert moderation(
        {"moderation_label_confidence": {"label": "violence", "at_least": 0.88, "at_most": 0.88}}
    )
    assert not moderation({"moderation_label_confidence": {"label": "Gambling", "below": 1}})
    assert moderation({"moderation_label_confidence": {"label": "*", "above": 0.85}})
    assert not moderation({"moderation_label_confidence": {"label": "*", "above": 0.9}})


def test_and_or_combinations():
    low_weapons = {"moderation_label_confidence": {"label": "Weapons", "below": 0.6}}
    high_violence = {"moderation_label_confidence": {"label": "Violence", "above": 0.9}}
    assert moderation({"any": [low_weapons, high_violence]})
    assert not moderation({"all": [low_weapons, high_violence]})
    assert moderation({"all": [low_weapons, {"any": [high_violence, low_weapons]}]})
    # A leaf of the other service never holds.
    assert not moderation({"any": [{"form_key_missing": {"key": "Total"}}, high_violence]})


def test_malformed_leaves_are_refused_by_place():
    for tree, words in (
        ({"form_key_confidence": {"key": "Total"}}, "key_value or word"),
        ({"form_key_confidence": {"key": "Total", "key_value": {"under": 0.5}}}, "unknown bound"),
        ({"form_key_confidence": {"key": "", "word": {"below": 0.5}}}, ".key"),
        ({"form_key_missing": {"key": "*"}}, "must be named"),
        ({"moderation_label_confidence": {"label": "X", "below": 80}}, "from 0 to 1"),
        ({"any": [{"moderation_label_confidence": {"label": "X"}}]}, "at least one of"),
    ):
        with pytest.raises(ConditionProblem, match=words):
            validate_conditions(tree)


def test_activation_results_and_the_review_line():
    tree = validate_conditions(
        {
            "any": [
                {"form_key_confidence": {"key": "Total", "key_value": {"below": 0.8}}},
                {"form_key_missing": {"key": "Invoice number", "aliases": ["No."]}},
            ]
        }
    )
    inference = loop_inference(TEXTRACT_FORMS, INVOICE)
    found = activation(tree, inference)
    assert found.activated
    assert [child["result"] for child in found.results["any"]] == [True, True]
    assert found.flagged_block_ids == ["k1", "v1"]
    assert important_form_keys(tree) == [
        {"importantFormKey": "Total", "importantFormKeyAliases": []},
        {"importantFormKey": "Invoice number", "importantFormKeyAliases": ["No."]},
    ]
    assert review_threshold(tree) == pytest.approx(80)
    line = review_line(tree, inference, found)
    assert line["source-ref"] == "s3://docs/invoice.png"
    assert {b["blockType"] for b in line["blocks"]} == {"KEY_VALUE_SET", "WORD"}  # no PAGE
    assert not activation(
        validate_conditions({"form_key_missing": {"key": "Date"}}), inference
    ).activated


def test_create_flow_definition_documents_translate_into_leaves():
    document = {
        "Conditions": [
            {
                "And": [
                    {
                        "ConditionType": "ImportantFormKeyConfidenceCheck",
                        "ConditionParameters": {
                            "ImportantFormKey": "Total",
                            "ImportantFormKeyAliases": ["Amount"],
                            "KeyValueBlockConfidenceLessThan": 90,
                            "WordBlockConfidenceGreaterThanEquals": 10,
                        },
                    },
                    {
                        "ConditionType": "MissingImportantFormKey",
                        "ConditionParameters": {"ImportantFormKey": "Date"},
                    },
                ]
            },
            {
                "ConditionType": "ModerationLabelConfidenceCheck",
                "ConditionParameters": {
                    "ModerationLabelName": "*",
                    "ConfidenceGreaterThan": 50,
                    "ConfidenceLessThanEquals": 80,
                },
            },
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 1}},
        ]
    }
    tree, sample = activation_conditions(document, builtin=True)
    assert sample == 1.0
    assert tree == {
        "any": [
            {
                "all": [
                    {
                        "form_key_confidence": {
                            "key": "Total",
                            "aliases": ["Amount"],
                            "key_value": {"below": 0.9},
                            "word": {"at_least": 0.1},
                        }
                    },
                    {"form_key_missing": {"key": "Date", "aliases": []}},
                ]
            },
            {"moderation_label_confidence": {"label": "*", "above": 0.5, "at_most": 0.8}},
        ]
    }
    assert validate_conditions(tree) == tree
    with pytest.raises(ConditionsRefused, match="Confidence"):
        activation_conditions(
            {
                "Conditions": [
                    {
                        "ConditionType": "ModerationLabelConfidenceCheck",
                        "ConditionParameters": {"ModerationLabelName": "X"},
                    }
                ]
            },
            builtin=True,
        )
