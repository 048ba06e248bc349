"""Requests checked against botocore's model, and the activation conditions translated: pure."""

import json

import pytest

from control_plane.service_model import RequestInvalid, validate_request
from control_plane.services.flow_definitions import ConditionsRefused, activation_conditions


def test_the_model_checks_nested_shapes_by_path():
    with pytest.raises(RequestInvalid) as excinfo:
        validate_request(
            "CreateWorkteam",
            {
                "WorkteamName": "ok",
                "Description": "",
                "MemberDefinitions": [{"OidcMemberDefinition": {"Groups": ["a" * 70]}}],
            },
        )
    problems = excinfo.value.problems
    assert any("'Description'" in p and "length greater than or equal to 1" in p for p in problems)
    assert any("'MemberDefinitions[0].OidcMemberDefinition.Groups[0]'" in p for p in problems)
    with pytest.raises(RequestInvalid) as excinfo:
        validate_request("DescribeLabelingJob", {})
    assert excinfo.value.problems == [
        "Value 'None' at 'LabelingJobName' failed to satisfy constraint: Member must not be null"
    ]
    validate_request("ListLabelingJobs", {"CreationTimeAfter": 1700000000.5, "MaxResults": 1})
    with pytest.raises(RequestInvalid):
        validate_request("ListLabelingJobs", {"CreationTimeAfter": "yesterday"})


def test_activation_conditions_become_quorums_tree():
    document = {
        "Conditions": [
            {
                "ConditionType": "ModerationLabelConfidenceCheck",
                "ConditionParameters": {
                    "ModerationLabelName": "Suggestive",
                    "ConfidenceLessThan": 98,
                },
            },
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 2.5}},
        ]
    }
    assert activation_conditions(json.dumps(document)) == (
        {"label_confidence_below": {"Suggestive": 0.98}},
        2.5,
    )
    only_sample = {"Conditions": [document["Conditions"][1]]}
    assert activation_conditions(json.dumps(only_sample)) == ({}, 2.5)
    with pytest.raises(ConditionsRefused, match="RandomSamplingPercentage from 0.01 to 100"):
        activation_conditions(
            json.dumps(
                {
                    "Conditions": [
                        {
                            "ConditionType": "Sampling",
                            "ConditionParameters": {"RandomSamplingPercentage": 0},
                        }
                    ]
                }
            )
        )
