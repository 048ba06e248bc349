"""Labeling jobs through the real boto3 ``sagemaker`` client against a live Quorum.

Create (with the managed ARNs of another region and account), Describe until the labelers'
answers complete it, List with its filters, sort keys and paginator, Stop, the team's list,
and the refusals: a bad manifest line, unknown ARNs, Quorum's narrower ranges, a taken name.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from active_learning.models import AutoLabeling
from control_plane.models import LabelingJobSpec
from labeling.models import Job, TeamKind
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for
from tests.control_plane.conftest import MANAGED, error_of

ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)

CATEGORIES = {"document-version": "2018-11-28", "labels": [{"label": "cat"}, {"label": "dog"}]}


def workteam_arn(team) -> str:
    return f"arn:aws:sagemaker:us-west-2:123456789012:workteam/private-crowd/{team.name}"


def job_request(name: str, team, **changes) -> dict:
    human = {
        "WorkteamArn": workteam_arn(team),
        "UiConfig": {"UiTemplateS3Uri": "s3://in/template.liquid"},
        "PreHumanTaskLambdaArn": f"{MANAGED}:PRE-TextMultiClass",
        "TaskTitle": "Cats or dogs",
        "TaskDescription": "Pick the animal the text is about",
        "NumberOfHumanWorkersPerDataObject": 1,
        "TaskTimeLimitInSeconds": 300,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": f"{MANAGED}:ACS-TextMultiClass"
        },
    }
    human.update(changes.pop("HumanTaskConfig", {}))
    request = {
        "LabelingJobName": name,
        "LabelAttributeName": "animal",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://in/m.jsonl"}}},
        "OutputConfig": {"S3OutputPath": "s3://out/jobs"},
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/Labeling",
        "LabelCategoryConfigS3Uri": "s3://in/categories.json",
        "HumanTaskConfig": human,
    }
    request.update(changes)
    return request


TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="category" categories="{{ task.input.labels | to_json | escape }}"
    header="Which animal?">
    <classification-target>{{ task.input.taskObject }}</classification-target>
  </crowd-classifier>
</crowd-form>"""


@pytest.fixture
def inputs(put_object):
    put_object("s3://in/m.jsonl", '{"source": "a cat"}\n{"source": "a dog"}\n')
    put_object("s3://in/categories.json", CATEGORIES)
    put_object("s3://in/template.liquid", TEMPLATE)


def answer_all(job: Job, labeler, label: str = "cat") -> int:
    client = client_for(labeler)
    answered = 0
    while True:
        lease = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        if lease.status_code != 200:
            return answered
        submitted = client.post(
            f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
            {"answer": {"category": {"label": label}}},
            format="json",
        )
        assert submitted.status_code == 201, submitted.content
        answered += 1


def test_a_job_from_create_to_completed(sagemaker, inputs, team, labeler):
    created = sagemaker.create_labeling_job(**job_request("cats-1", team))
    assert created["LabelingJobArn"].endswith(":labeling-job/cats-1")
    described = sagemaker.describe_labeling_job(LabelingJobName="cats-1")
    assert described["LabelingJobStatus"] == "InProgress"
    assert described["LabelCounters"] == {
        "TotalLabeled": 0,
        "HumanLabeled": 0,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 2,
    }
    assert isinstance(described["CreationTime"], datetime)
    assert described["HumanTaskConfig"]["TaskTitle"] == "Cats or dogs"
    assert described["RoleArn"].endswith("role/service-role/Labeling")
    job = Job.objects.get(name="cats-1")
    assert (job.task_type, job.labels, job.label_attribute_name) == (
        "text-classification",
        ["cat", "dog"],
        "animal",
    )
    assert job.custom_template.version.source.startswith("<script")

    assert answer_all(job, labeler) == 2
    described = sagemaker.describe_labeling_job(LabelingJobName="cats-1")
    assert described["LabelingJobStatus"] == "Completed"
    assert described["LabelCounters"]["TotalLabeled"] == 2
    assert described["LabelCounters"]["HumanLabeled"] == 2
    assert described["LabelCounters"]["Unlabeled"] == 0
    assert described["LabelingJobOutput"]["OutputDatasetS3Uri"] == (
        "s3://out/jobs/cats-1/manifests/output/output.manifest"
    )
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_labeling_job(LabelingJobName="cats-1")
    assert error_of(excinfo) == (
        "ValidationException",
        "Labeling job cats-1 has completed; it cannot be stopped",
    )


def test_a_bad_manifest_line_fails_the_job_naming_it(sagemaker, put_object, inputs, team):
    put_object("s3://in/bad.jsonl", '{"source": "fine"}\n{"no-source": 1}\n{"source": "ok"}\n')
    request = job_request("bad-lines", team)
    request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] = "s3://in/bad.jsonl"
    sagemaker.create_labeling_job(**request)
    described = sagemaker.describe_labeling_job(LabelingJobName="bad-lines")
    assert described["LabelingJobStatus"] == "Failed"
    assert "line 2" in described["FailureReason"]
    assert Job.objects.get(name="bad-lines").items_total == 0
    request = job_request("no-manifest", team)
    request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] = "s3://in/gone.jsonl"
    sagemaker.create_labeling_job(**request)
    described = sagemaker.describe_labeling_job(LabelingJobName="no-manifest")
    assert described["LabelingJobStatus"] == "Failed"
    assert "s3://in/gone.jsonl" in described["FailureReason"]
    failed = sagemaker.list_labeling_jobs(StatusEquals="Failed")["LabelingJobSummaryList"]
    assert sorted(s["LabelingJobName"] for s in failed) == ["bad-lines", "no-manifest"]


REFUSALS = [
    (
        {"HumanTaskConfig": {"PreHumanTaskLambdaArn": f"{MANAGED}:my-own-function"}},
        "ValidationException",
        "HumanTaskConfig.PreHumanTaskLambdaArn",
    ),
    (
        {"HumanTaskConfig": {"PreHumanTaskLambdaArn": f"{MANAGED}:PRE-3DPointCloudObjectTracking"}},
        "ValidationException",
        "3D point clouds",
    ),
    (
        {
            "HumanTaskConfig": {
                "AnnotationConsolidationConfig": {
                    "AnnotationConsolidationLambdaArn": f"{MANAGED}:ACS-BoundingBox"
                }
            }
        },
        "ValidationException",
        "not the task type's ACS- function",
    ),
    (
        {"HumanTaskConfig": {"TaskTimeLimitInSeconds": 30000}},
        "ValidationException",
        "HumanTaskConfig.TaskTimeLimitInSeconds must be at most 28800 in Quorum",
    ),
    (
        {"HumanTaskConfig": {"NumberOfHumanWorkersPerDataObject": 10}},
        "ValidationException",
        "at 'HumanTaskConfig.NumberOfHumanWorkersPerDataObject' failed to satisfy constraint: "
        "Member must less than or equal to 9",
    ),
    (
        {"LabelingJobName": "no spaces allowed"},
        "ValidationException",
        "at 'LabelingJobName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern",
    ),
    (
        {
            "LabelingJobAlgorithmsConfig": {
                "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:"
                "027400017018:labeling-job-algorithm-specification/object-detection"
            }
        },
        "ValidationException",
        "does not label text-classification jobs",
    ),
    (
        {"HumanTaskConfig": {"WorkteamArn": "arn:aws:sagemaker:us-east-1:1:workteam/x"}},
        "ValidationException",
        "WorkteamArn",
    ),
    (
        {
            "HumanTaskConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:"
                "workteam/private-crowd/nobody"
            }
        },
        "ResourceNotFound",
        "there is no work team",
    ),
    (
        {"LabelCategoryConfigS3Uri": "s3://in/missing.json"},
        "ValidationException",
        "missing.json",
    ),
]


def test_what_is_refused_is_named(sagemaker, inputs, team):
    for change, code, words in REFUSALS:
        with pytest.raises(ClientError) as excinfo:
            sagemaker.create_labeling_job(**job_request("refused", team, **change))
        assert error_of(excinfo)[0] == code, change
        assert words in error_of(excinfo)[1]
    assert not Job.objects.filter(name="refused").exists()
    # A taken name is in use; an unknown job is not found.
    sagemaker.create_labeling_job(**job_request("taken", team))
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_labeling_job(**job_request("taken", team))
    assert error_of(excinfo)[0] == "ResourceInUse"
    for call in (sagemaker.describe_labeling_job, sagemaker.stop_labeling_job):
        with pytest.raises(ClientError) as excinfo:
            call(LabelingJobName="nothing-here")
        assert error_of(excinfo) == ("ResourceNotFound", "Could not find labeling job nothing-here")


def test_stop_and_the_list_with_filters_sorts_and_paginator(sagemaker, inputs, team):
    algorithms = {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:eu-west-1:568282634449:"
        "labeling-job-algorithm-specification/text-classification"
    }
    sagemaker.create_labeling_job(
        **job_request(
            "list-b",
            team,
            LabelingJobAlgorithmsConfig=algorithms,
            StoppingConditions={"MaxHumanLabeledObjectCount": 1},
        )
    )
    # Automated labeling is on once the manifest is in, with the human budget.
    auto = AutoLabeling.objects.get(job__name="list-b")
    assert auto.enabled and auto.human_budget == 1
    for name in ("list-a", "list-c"):
        sagemaker.create_labeling_job(**job_request(name, team))
    sagemaker.stop_labeling_job(LabelingJobName="list-c")
    assert sagemaker.describe_labeling_job(LabelingJobName="list-c")["LabelingJobStatus"] == (
        "Stopped"
    )
    # Oldest first: the model's default SortOrder is Ascending.
    oldest_first = sagemaker.list_labeling_jobs()["LabelingJobSummaryList"]
    assert [s["LabelingJobName"] for s in oldest_first] == ["list-b", "list-a", "list-c"]
    newest_first = sagemaker.list_labeling_jobs(SortOrder="Descending")["LabelingJobSummaryList"]
    assert [s["LabelingJobName"] for s in newest_first] == ["list-c", "list-a", "list-b"]
    by_name = sagemaker.list_labeling_jobs(SortBy="Name", SortOrder="Ascending")
    assert [s["LabelingJobName"] for s in by_name["LabelingJobSummaryList"]] == [
        "list-a",
        "list-b",
        "list-c",
    ]
    stopped = sagemaker.list_labeling_jobs(StatusEquals="Stopped")["LabelingJobSummaryList"]
    assert [s["LabelingJobName"] for s in stopped] == ["list-c"]
    running = sagemaker.list_labeling_jobs(StatusEquals="InProgress", NameContains="B")
    assert [s["LabelingJobName"] for s in running["LabelingJobSummaryList"]] == ["list-b"]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert sagemaker.list_labeling_jobs(CreationTimeAfter=future)["LabelingJobSummaryList"] == []
    assert (
        len(sagemaker.list_labeling_jobs(LastModifiedTimeBefore=future)["LabelingJobSummaryList"])
        == 3
    )
    first = sagemaker.list_labeling_jobs(MaxResults=2, SortBy="Name", SortOrder="Descending")
    assert [s["LabelingJobName"] for s in first["LabelingJobSummaryList"]] == ["list-c", "list-b"]
    rest = sagemaker.list_labeling_jobs(
        MaxResults=2, SortBy="Name", SortOrder="Descending", NextToken=first["NextToken"]
    )
    assert [s["LabelingJobName"] for s in rest["LabelingJobSummaryList"]] == ["list-a"]
    assert "NextToken" not in rest
    paginator = sagemaker.get_paginator("list_labeling_jobs")
    names = [
        s["LabelingJobName"]
        for page in paginator.paginate(SortBy="Status", PaginationConfig={"PageSize": 1})
        for s in page["LabelingJobSummaryList"]
    ]
    assert sorted(names) == ["list-a", "list-b", "list-c"] and len(names) == 3
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_labeling_jobs(NextToken=first["NextToken"] + "x")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_labeling_jobs(NextToken=first["NextToken"], SortBy="CreationTime")
    assert "another listing" in error_of(excinfo)[1]


def test_jobs_of_a_workteam_and_the_public_crowd(sagemaker, inputs, team):
    sagemaker.create_labeling_job(**job_request("team-job", team))
    sagemaker.create_labeling_job(**job_request("team-job-2", team))
    oldest_first = sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=workteam_arn(team))
    assert [s["LabelingJobName"] for s in oldest_first["LabelingJobSummaryList"]] == [
        "team-job",
        "team-job-2",
    ]
    other = team_create(name="other-team")
    sagemaker.create_labeling_job(**job_request("other-job", other))
    listed = sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=workteam_arn(team), SortOrder="Descending"
    )
    assert [s["LabelingJobName"] for s in listed["LabelingJobSummaryList"]] == [
        "team-job-2",
        "team-job",
    ]
    summary = listed["LabelingJobSummaryList"][1]
    assert summary["LabelCounters"] == {"HumanLabeled": 0, "PendingHuman": 2, "Total": 2}
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_labeling_jobs_for_workteam(
            WorkteamArn="arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/nobody"
        )
    assert error_of(excinfo)[0] == "ResourceNotFound"
    pages = sagemaker.get_paginator("list_labeling_jobs_for_workteam").paginate(
        WorkteamArn=workteam_arn(other), PaginationConfig={"PageSize": 1}
    )
    assert [s["LabelingJobName"] for p in pages for s in p["LabelingJobSummaryList"]] == [
        "other-job"
    ]

    crowd = "arn:aws:sagemaker:ap-northeast-1:477331159723:workteam/public-crowd/default"
    price = {"AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}}
    request = job_request(
        "crowd-job",
        team,
        HumanTaskConfig={"WorkteamArn": crowd, "PublicWorkforceTaskPrice": price},
    )
    with pytest.raises(ClientError) as excinfo:  # the personal-data rule
        sagemaker.create_labeling_job(**request)
    assert "private" in error_of(excinfo)[1]
    request["InputConfig"]["DataAttributes"] = {
        "ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]
    }
    sagemaker.create_labeling_job(**request)
    job = Job.objects.select_related("team").get(name="crowd-job")
    assert job.team.kind == TeamKind.CROWD and job.data_may_leave_private
    assert job.reward_cents == 4 and job.published_at is not None
    described = sagemaker.describe_labeling_job(LabelingJobName="crowd-job")
    assert described["HumanTaskConfig"]["WorkteamArn"] == crowd
    spec = LabelingJobSpec.objects.get(job=job)
    assert json.dumps(spec.request["HumanTaskConfig"]["PublicWorkforceTaskPrice"])


def test_a_stopped_job_names_its_output_manifest(sagemaker, inputs, team, labeler, settings):
    # A script that stops a job reads what was labeled before the stop, as from the service.
    sagemaker.create_labeling_job(**job_request("half-done", team))
    client = client_for(labeler)
    lease = client.post(f"/api/v1/jobs/{Job.objects.get(name='half-done').pk}/tasks/next")
    client.post(
        f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
        {"answer": {"category": {"label": "cat"}}},
        format="json",
    )
    sagemaker.stop_labeling_job(LabelingJobName="half-done")
    described = sagemaker.describe_labeling_job(LabelingJobName="half-done")
    assert described["LabelingJobStatus"] == "Stopped"
    uri = described["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert uri == "s3://out/jobs/half-done/manifests/output/output.manifest"
    manifest = Path(settings.MEDIA_ROOT, uri.removeprefix("s3://")).read_text()
    labeled = [json.loads(line) for line in manifest.splitlines() if "animal" in line]
    assert [line["animal"] for line in labeled] == [0]
    [summary] = sagemaker.list_labeling_jobs(StatusEquals="Stopped")["LabelingJobSummaryList"]
    assert summary["LabelingJobOutput"] == {"OutputDatasetS3Uri": uri}
