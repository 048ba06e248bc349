"""CreateLabelingJob with an SnsDataSource makes a streaming job (issue 16): started at once and
empty, the topics kept and shown, objects posted to ``…/items``, results on the feed, the
counters in Describe (an expired object counted as failed), and StopLabelingJob stopping it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Job, StreamItem
from labeling.pipelines.services.streaming import stream_items_expire
from labeling.states import JobStatus
from tests.conftest import client_for
from tests.control_plane.conftest import error_of
from tests.control_plane.test_labeling_jobs import CATEGORIES, TEMPLATE, answer_all, job_request

ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)

INPUT_TOPIC = "arn:aws:sns:us-west-2:123456789012:objects-in"
OUTPUT_TOPIC = "arn:aws:sns:us-west-2:123456789012:labels-out"


@pytest.fixture
def inputs(put_object):
    """The labels and the template; a streaming job has no manifest."""
    put_object("s3://in/categories.json", CATEGORIES)
    put_object("s3://in/template.liquid", TEMPLATE)


def streaming_request(name: str, team) -> dict:
    request = job_request(name, team, HumanTaskConfig={"TaskAvailabilityLifetimeInSeconds": 600})
    request["InputConfig"] = {"DataSource": {"SnsDataSource": {"SnsTopicArn": INPUT_TOPIC}}}
    request["OutputConfig"]["SnsTopicArn"] = OUTPUT_TOPIC
    return request


def test_an_sns_data_source_makes_a_streaming_job(
    sagemaker, inputs, team, labeler, manager, make_labeler
):
    sagemaker.create_labeling_job(**streaming_request("stream-1", team))
    job = Job.objects.get(name="stream-1")
    assert job.status == JobStatus.IN_PROGRESS and job.open_ended and job.expires_at is None
    assert (job.stream.input_topic_arn, job.stream.output_topic_arn) == (INPUT_TOPIC, OUTPUT_TOPIC)
    assert job.stream.item_lifetime_seconds == 600
    described = sagemaker.describe_labeling_job(LabelingJobName="stream-1")
    assert described["LabelingJobStatus"] == "InProgress"
    assert described["InputConfig"]["DataSource"]["SnsDataSource"]["SnsTopicArn"] == INPUT_TOPIC
    assert described["OutputConfig"]["SnsTopicArn"] == OUTPUT_TOPIC
    assert described["LabelCounters"]["Unlabeled"] == 0

    client = client_for(manager)
    posted = client.post(
        f"/api/v1/jobs/{job.pk}/items",
        [{"clientKey": f"o{n}", "source": f"object {n}"} for n in range(3)],
        format="json",
    )
    assert posted.status_code == 201, posted.content
    assert answer_all(job, labeler) == 3
    late = client.post(
        f"/api/v1/jobs/{job.pk}/items", {"clientKey": "late", "source": "late"}, format="json"
    )
    StreamItem.objects.filter(item_id=late.json()["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert stream_items_expire()["expired"] == 1
    described = sagemaker.describe_labeling_job(LabelingJobName="stream-1")
    assert described["LabelingJobStatus"] == "InProgress"  # every object labeled: it goes on
    assert described["LabelCounters"] == {
        "TotalLabeled": 3,
        "HumanLabeled": 3,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 1,
        "Unlabeled": 0,
    }
    feed = client.get(f"/api/v1/jobs/{job.pk}/results").json()["results"]
    assert [event["clientKey"] for event in feed] == ["o0", "o1", "o2", "late"]

    sagemaker.stop_labeling_job(LabelingJobName="stream-1")
    assert Job.objects.get(pk=job.pk).status == JobStatus.STOPPED
    closed = client.post(
        f"/api/v1/jobs/{job.pk}/items", {"clientKey": "after", "source": "x"}, format="json"
    )
    assert closed.status_code == 409


def test_both_sources_at_once_are_refused(sagemaker, inputs, team):
    request = streaming_request("stream-2", team)
    request["InputConfig"]["DataSource"]["S3DataSource"] = {"ManifestS3Uri": "s3://in/m.jsonl"}
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_labeling_job(**request)
    code, message = error_of(excinfo)
    assert code == "ValidationException" and "not both" in message
    assert not Job.objects.filter(name="stream-2").exists()
