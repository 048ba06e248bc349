"""Issue 16: CreateLabelingJob whose input manifest is a Quorum job's output manifest chains
to that job: with its LabelAttributeName it continues it, with another it is a child."""

import pytest

from control_plane.models import LabelingJobSpec
from control_plane.services.labeling_jobs import labeling_job_create
from labeling.models import ChainLink, Item
from labeling.services.jobs import job_stop
from labeling.states import ItemStatus, JobStatus
from tests.control_plane.test_labeling_jobs import CATEGORIES, job_request
from tests.task_types.helpers import work

pytestmark = pytest.mark.django_db


def _request(name, team, **changes):
    request = job_request(name, team, **changes)
    del request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"]
    request["HumanTaskConfig"]["UiConfig"]["HumanTaskUiArn"] = (
        "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/TextMultiClass"
    )
    return request


def test_an_output_manifest_input_continues_or_chains(
    manager, team, make_labeler, put_object, django_capture_on_commit_callbacks
):
    put_object("s3://in/m.jsonl", '{"source": "a cat"}\n{"source": "a dog"}\n')
    put_object("s3://in/categories.json", CATEGORIES)
    with django_capture_on_commit_callbacks(execute=True):
        parent = labeling_job_create(created_by=manager, request=_request("first", team))
    parent.refresh_from_db()
    assert parent.status == JobStatus.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        work(parent, [make_labeler("w1")], [[{"label": "cat"}]])
    output = "s3://out/jobs/first/manifests/output/output.manifest"
    source = {"DataSource": {"S3DataSource": {"ManifestS3Uri": output}}}
    # A different attribute while the parent runs: a chained child, fed as it goes.
    with django_capture_on_commit_callbacks(execute=True):
        child = labeling_job_create(
            created_by=manager,
            request=_request("second", team, LabelAttributeName="mood", InputConfig=source),
        )
    child.refresh_from_db()
    link = ChainLink.objects.get(child=child)
    assert (link.parent_id, link.continues, child.status) == (parent.pk, False, "in_progress")
    assert Item.objects.filter(job=child).count() == 1  # the one labeled so far
    assert LabelingJobSpec.objects.get(job=child).failure_reason == ""
    # The same attribute continues it, once it is stopped.
    job_stop(job=parent, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        again = labeling_job_create(
            created_by=manager, request=_request("first-continued", team, InputConfig=source)
        )
    again.refresh_from_db()
    assert ChainLink.objects.get(child=again).continues
    assert again.status == JobStatus.IN_PROGRESS
    statuses = sorted(Item.objects.filter(job=again).values_list("status", flat=True))
    assert statuses == [ItemStatus.LABELED, ItemStatus.OPEN]
