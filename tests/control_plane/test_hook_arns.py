"""CreateLabelingJob with custom Lambda ARNs: they name registered hooks (issue 16)."""

import pytest

from labeling.models import HookItem, Item, Job, JobHooks
from labeling.pipelines.services.hooks import hook_create
from tests.control_plane.conftest import error_of
from tests.control_plane.test_labeling_jobs import inputs, job_request  # noqa: F401
from tests.labeling.pipelines.conftest import hook_receiver, outbound_loopback_allowed  # noqa: F401

ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)

CUSTOM = "arn:aws:lambda:us-east-1:123456789012:function"


def test_custom_lambda_arns_name_hooks(sagemaker, inputs, team, manager, hook_receiver):  # noqa: F811
    hook_receiver.answer = lambda event: (
        200,
        {"taskInput": {"taskObject": event["dataObject"]["source"].upper()}},
    )
    pre = hook_create(owner=manager, name="my-prep", url=hook_receiver.url).hook
    consolidation = hook_create(
        owner=manager, name="acs", url=hook_receiver.url, arn=f"{CUSTOM}:consolidate-v2"
    ).hook
    request = job_request(
        "custom-1",
        team,
        HumanTaskConfig={
            "PreHumanTaskLambdaArn": f"{CUSTOM}:my-prep",  # by the function's name
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{CUSTOM}:consolidate-v2"  # by its arn
            },
        },
    )
    sagemaker.create_labeling_job(**request)
    job = Job.objects.get(name="custom-1")
    assert job.task_type == "custom"
    hooks = JobHooks.objects.get(job=job)
    assert (hooks.pre_hook_id, hooks.consolidation_hook_id) == (pre.pk, consolidation.pk)
    assert sorted(hook_receiver.events(), key=lambda e: e["dataObject"]["source"]) == [
        {
            "version": "2018-10-16",
            "labelingJobArn": sagemaker.describe_labeling_job(LabelingJobName="custom-1")[
                "LabelingJobArn"
            ],
            "dataObject": {"source": source},
        }
        for source in ("a cat", "a dog")
    ]
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"open"}
    assert sorted(s.task_input["taskObject"] for s in HookItem.objects.filter(job=job)) == [
        "A CAT",
        "A DOG",
    ]
    described = sagemaker.describe_labeling_job(LabelingJobName="custom-1")
    assert described["HumanTaskConfig"]["PreHumanTaskLambdaArn"] == f"{CUSTOM}:my-prep"
    assert described["LabelCounters"]["FailedNonRetryableError"] == 0


def test_a_custom_arn_that_names_no_hook_is_refused(sagemaker, inputs, team):  # noqa: F811
    request = job_request(
        "custom-2", team, HumanTaskConfig={"PreHumanTaskLambdaArn": f"{CUSTOM}:nothing"}
    )
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_labeling_job(**request)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "HumanTaskConfig.PreHumanTaskLambdaArn" in message
    assert "register one" in message
    assert not Job.objects.filter(name="custom-2").exists()
