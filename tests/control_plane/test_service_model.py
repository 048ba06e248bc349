"""Requests checked against botocore's model, and the activation conditions translated: pure."""

import json

import pytest

from control_plane import arns
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


def test_managed_arns_of_any_region_and_account():
    for arn in (
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
        "arn:aws-cn:lambda:cn-north-1:390048526115:function:PRE-BoundingBox",
    ):
        assert arns.managed_task_type(arn, field="f", prefixes=("PRE-",)) == "image-bounding-box"
    assert (
        arns.managed_task_type(
            "arn:aws:sagemaker:eu-west-1:123456789012:human-task-ui/VideoObjectTracking",
            field="f",
            prefixes=(),
        )
        == "video-object-tracking"
    )
    with pytest.raises(arns.ArnRefused, match="Quorum runs no Lambda of yours"):
        arns.managed_task_type(
            "arn:aws:lambda:us-east-1:123456789012:function:my-pre", field="f", prefixes=("PRE-",)
        )
    with pytest.raises(arns.ArnRefused, match="3D point clouds"):
        arns.managed_task_type(
            "arn:aws:lambda:us-east-1:123456789012:function:ACS-3DPointCloudObjectDetection",
            field="f",
            prefixes=("ACS-",),
        )
    with pytest.raises(arns.ArnRefused, match="is not an ARN"):
        arns.managed_task_type("PRE-BoundingBox", field="f", prefixes=("PRE-",))
    assert (
        arns.algorithm(
            "arn:aws:sagemaker:ap-south-1:565803892007:labeling-job-algorithm-specification/"
            "text-classification",
            field="f",
        )
        == "text-classification"
    )
    with pytest.raises(arns.ArnRefused, match="known: image-classification"):
        arns.algorithm(
            "arn:aws:sagemaker:us-east-1:123456789012:labeling-job-algorithm-specification/nope",
            field="f",
        )
