"""The control plane's sweep redoes what a lost message or event left undone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from control_plane.models import FlowDefinitionSpec, LabelingJobSpec
from control_plane.services.flow_definitions import flow_definitions_activate_pending
from control_plane.services.labeling_jobs import control_plane_sweep, labeling_job_create
from labeling.data.services.imports import import_stage_manifest
from labeling.models import ImportRun, Job
from labeling.states import JobStatus
from tests.control_plane.test_labeling_jobs import CATEGORIES, job_request
from workflows.services.flows import flow_create

pytestmark = pytest.mark.django_db


def test_a_lost_import_message_is_sent_again(
    manager, team, put_object, django_capture_on_commit_callbacks
):
    put_object("s3://in/m.jsonl", '{"source": "a"}\n{"source": "b"}\n')
    put_object("s3://in/categories.json", CATEGORIES)
    request = job_request("lost", team)
    del request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"]
    request["HumanTaskConfig"]["UiConfig"]["HumanTaskUiArn"] = (
        "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/TextMultiClass"
    )
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the message
        labeling_job_create(created_by=manager, request=request)
    spec = LabelingJobSpec.objects.get(job__name="lost")
    assert spec.import_run_id is None
    assert control_plane_sweep() == {"imports_requeued": 0, "imports_settled": 0}  # too soon
    later = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert control_plane_sweep(now=later)["imports_requeued"] == 1
    job = Job.objects.get(name="lost")
    assert (job.status, job.items_total) == (JobStatus.IN_PROGRESS, 2)
    assert control_plane_sweep(now=later) == {"imports_requeued": 0, "imports_settled": 0}


def test_a_flow_left_initializing_is_activated(manager, team):
    flow = flow_create(
        created_by=manager, name="waiting", team=team, task_type="custom", labels=["answer"]
    )
    FlowDefinitionSpec.objects.create(flow=flow, request={})
    assert flow_definitions_activate_pending() == 1
    assert FlowDefinitionSpec.objects.get(flow=flow).activated_at is not None
    assert flow_definitions_activate_pending() == 0


def test_a_run_staged_but_not_linked_is_linked_not_staged_again(
    manager, team, put_object, django_capture_on_commit_callbacks
):
    put_object("s3://in/m.jsonl", '{"source": "a"}\n')
    put_object("s3://in/categories.json", CATEGORIES)
    request = job_request("half-staged", team)
    del request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"]
    with django_capture_on_commit_callbacks(execute=False):
        job = labeling_job_create(created_by=manager, request=request)
        # The worker staged the manifest and died before linking it (or running it).
        run = import_stage_manifest(job=job, created_by=manager, chunks=[b'{"source": "a"}\n'])
    later = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        control_plane_sweep(now=later)
    assert LabelingJobSpec.objects.get(job=job).import_run_id == run.pk
    assert ImportRun.objects.filter(job=job).count() == 1
