"""Fixtures of the control-plane tests: the real boto3 ``sagemaker`` client against a live
Quorum on loopback, signed with an access key Quorum issued, and objects in storage."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from tests.control_plane.shape_check import watch
from workflows.services.access_keys import access_key_create

boto3 = pytest.importorskip("boto3", reason="the control-plane tests need boto3")
botocore_config = pytest.importorskip("botocore.config")

REGION = "eu-central-1"
# The managed ARNs as scripts hard-code them (another region and the service's own account).
MANAGED = "arn:aws:lambda:us-west-2:081040173940:function"


def sagemaker_client(live_server, key_id: str, secret: str, region: str = REGION):
    return boto3.client(
        "sagemaker",
        endpoint_url=f"{live_server.url}/sagemaker",
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=botocore_config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def key(manager):
    return access_key_create(user=manager)


@pytest.fixture
def sagemaker(live_server, key):
    """The client; every answer it parsed must fit the operation's output shape in the model."""
    problems: list[str] = []
    yield watch(sagemaker_client(live_server, key.access_key_id, key.secret_access_key), problems)
    assert not problems, "answers that depart from the service model:\n" + "\n".join(problems)


def error_of(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def put_object():
    """Write ``s3://bucket/key`` where Quorum reads it with no store configured."""

    def put(uri: str, body: bytes | str | dict | list) -> str:
        if isinstance(body, dict | list):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        bucket, _, name = uri.removeprefix("s3://").partition("/")
        path = Path(settings.MEDIA_ROOT) / bucket / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return uri

    return put
