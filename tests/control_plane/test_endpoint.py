"""The /sagemaker endpoint itself: signatures, targets, the model's checks, the wire format."""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from labeling.models import Role
from tests.control_plane.conftest import REGION, error_of, sagemaker_client
from workflows.services.access_keys import access_key_create, access_key_revoke

botocore_config = pytest.importorskip("botocore.config")
ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)


def raw_call(live_server, key, target: str, body: bytes, *, service: str = "sagemaker", **extra):
    """A signed POST as botocore would send it, with what the test changes; (status, JSON)."""
    url = f"{live_server.url}/sagemaker/"
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    signer = SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), service, REGION)
    if "when" in extra:
        with mock.patch("botocore.auth.get_current_datetime", return_value=extra["when"]):
            signer.add_auth(request)
    else:
        signer.add_auth(request)
    prepared = request.prepare()
    sent_body = extra.get("tamper", body)
    outgoing = urllib.request.Request(url, data=sent_body, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(outgoing) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_answers_are_json_1_1_with_epoch_seconds(live_server, key, team):
    status, body = raw_call(live_server, key, "SageMaker.ListWorkteams", b"{}")
    assert status == 200
    created = body["Workteams"][0]["CreateDate"]
    assert isinstance(created, float)
    assert abs(created - datetime.now(UTC).timestamp()) < 600


def test_signature_failures(live_server, key, manager, settings):
    status, body = raw_call(live_server, key, "SageMaker.ListWorkteams", b"{}", tamper=b'{"a":1}')
    assert (status, body["__type"]) == (403, "InvalidSignatureException")
    status, body = raw_call(live_server, key, "SageMaker.ListWorkteams", b"{}", service="s3")
    assert body["__type"] == "InvalidSignatureException" and "'s3'" in body["message"]
    late = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
    status, body = raw_call(live_server, key, "SageMaker.ListWorkteams", b"{}", when=late)
    assert body["__type"] == "InvalidSignatureException"
    assert body["message"].startswith("Signature expired")
    unsigned = urllib.request.Request(
        f"{live_server.url}/sagemaker/",
        data=b"{}",
        headers={"X-Amz-Target": "SageMaker.ListWorkteams"},
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(unsigned)
    answer = json.loads(excinfo.value.read())
    assert answer["__type"] == "MissingAuthenticationTokenException", answer

    wrong = sagemaker_client(live_server, key.access_key_id, "not-the-secret")
    with pytest.raises(ClientError) as caught:
        wrong.list_workteams()
    assert error_of(caught)[0] == "InvalidSignatureException"
    unknown = sagemaker_client(live_server, "QKIAUNKNOWN", "secret")
    with pytest.raises(ClientError) as caught:
        unknown.list_workteams()
    assert error_of(caught)[0] == "UnrecognizedClientException"
    revoked = access_key_create(user=manager)
    access_key_revoke(key=revoked)
    client = sagemaker_client(live_server, revoked.access_key_id, revoked.secret_access_key)
    with pytest.raises(ClientError) as caught:
        client.list_workteams()
    assert error_of(caught)[0] == "UnrecognizedClientException"

    # A key whose owner is no longer a manager is refused.
    settings.QUORUM_A2I_KEY_CACHE_SECONDS = 0
    client = sagemaker_client(live_server, key.access_key_id, key.secret_access_key)
    assert client.list_workforces()["Workforces"]
    manager.role = Role.LABELER
    manager.save(update_fields=["role"])
    with pytest.raises(ClientError) as caught:
        client.list_workforces()
    assert error_of(caught)[0] == "UnrecognizedClientException"


def test_targets_and_bodies(live_server, key):
    status, body = raw_call(live_server, key, "SageMaker.Nonsense", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_call(live_server, key, "Other.ListWorkteams", b"{}")
    assert body["__type"] == "UnknownOperationException"
    status, body = raw_call(live_server, key, "SageMaker.CreateTrainingJob", b"{}")
    assert body["__type"] == "ValidationException"
    assert "CreateTrainingJob is not served by Quorum" in body["message"]
    status, body = raw_call(live_server, key, "SageMaker.ListWorkteams", b"[1,")
    assert body["__type"] == "SerializationException"
    status, body = raw_call(
        live_server,
        key,
        "SageMaker.ListWorkteams",
        json.dumps({"MaxResults": 500, "SortBy": "Size", "Extra": 1}).encode(),
    )
    assert (status, body["__type"]) == (400, "ValidationException")
    assert body["message"].startswith("3 validation errors detected")
    assert (
        "at 'MaxResults' failed to satisfy constraint: Member must less than or equal to 100"
        in (body["message"])
    )
    assert "Member must satisfy enum value set: [Name, CreateDate]" in body["message"]
    assert "'Extra' is not a member of ListWorkteamsRequest" in body["message"]
    for region in ("us-east-1", "ap-southeast-2"):
        client = sagemaker_client(live_server, key.access_key_id, key.secret_access_key, region)
        assert client.list_workforces()["Workforces"][0]["WorkforceName"] == "default"
    client = sagemaker_client(live_server, key.access_key_id, key.secret_access_key)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_labeling_job(LabelingJobName="missing")
