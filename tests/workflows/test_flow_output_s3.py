"""A flow whose S3OutputPath is s3://: each loop's output.json in the store, and its URI in
DescribeHumanLoop; real boto3 clients against a live Quorum and a live S3 server (moto)."""

import json
import re

import pytest

from labeling.errors import ValidationFailed
from labeling.models import StorageWrite
from tests.conftest import client_for
from tests.workflows.test_a2i_boto3 import a2i_client, flow_arn
from workflows.services.access_keys import access_key_create

pytestmark = pytest.mark.django_db(transaction=True)


def _review(labeler, flow, label="cat"):
    reviewer = client_for(labeler)
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": label}}},
        format="json",
    )
    assert answered.status_code == 201


def test_a_loop_output_lands_at_the_managed_path_and_describe_names_it(
    s3, make_flow, labeler, live_server, manager
):
    flow = make_flow(name="cats-s3", output_path=s3.uri("a2i/out/"))
    key = access_key_create(user=manager)
    a2i = a2i_client(live_server, key.access_key_id, key.secret_access_key)
    a2i.start_human_loop(
        HumanLoopName="loop-s3",
        FlowDefinitionArn=flow_arn(flow),
        HumanLoopInput={"InputContent": json.dumps({"source": "Is this a cat?"})},
    )
    _review(labeler, flow)
    described = a2i.describe_human_loop(HumanLoopName="loop-s3")
    assert described["HumanLoopStatus"] == "Completed"
    uri = described["HumanLoopOutput"]["OutputS3Uri"]
    pattern = (
        rf"s3://{s3.bucket}/a2i/out/cats-s3/\d{{4}}/\d\d/\d\d/\d\d/\d\d/\d\d/loop-s3/output\.json"
    )
    assert re.fullmatch(pattern, uri), uri
    bucket, key_name = uri[len("s3://") :].split("/", 1)
    output = json.loads(s3.client.get_object(Bucket=bucket, Key=key_name)["Body"].read())
    assert output["humanLoopName"] == "loop-s3"
    assert output["humanAnswers"][0]["answerContent"] == {"label": "cat"}
    assert output["inputContent"] == {"source": "Is this a cat?"}
    assert StorageWrite.objects.get().written_at is not None


def test_a_flow_without_an_output_path_keeps_the_signed_link(
    make_flow, labeler, live_server, manager
):
    flow = make_flow(name="cats-link")
    key = access_key_create(user=manager)
    a2i = a2i_client(live_server, key.access_key_id, key.secret_access_key)
    a2i.start_human_loop(
        HumanLoopName="loop-link",
        FlowDefinitionArn=flow_arn(flow),
        HumanLoopInput={"InputContent": json.dumps({"source": "x"})},
    )
    _review(labeler, flow)
    uri = a2i.describe_human_loop(HumanLoopName="loop-link")["HumanLoopOutput"]["OutputS3Uri"]
    assert uri.startswith(live_server.url)
    assert not StorageWrite.objects.exists()


@pytest.mark.django_db  # no live server: no table flush
@pytest.mark.parametrize("path", ["https://bucket/x", "s3://", "s3://b/../../x"])
def test_an_output_path_that_is_not_a_complete_s3_uri_is_refused(make_flow, path, settings):
    settings.QUORUM_STORAGE = "local"
    with pytest.raises(ValidationFailed, match="output_path"):
        make_flow(name="bad-out", output_path=path)
