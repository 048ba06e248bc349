"""The runtime API with the real boto3 client against a live server on loopback.

The client is boto3's own ``sagemaker-a2i-runtime``, built from the botocore service model, so
paths, shapes, status names and errors are checked against that model, and every request
carries a real SigV4 signature that the server verifies.
"""

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.core.management import call_command

from labeling.crypto import secret_decrypt
from labeling.models import Role, TeamKind
from labeling.services.users import user_create
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for
from workflows.models import AccessKey, HumanLoop
from workflows.services.access_keys import access_key_create, access_key_revoke
from workflows.services.flows import flow_create

boto3 = pytest.importorskip("boto3", reason="the runtime API tests need boto3 (pip install boto3)")
botocore_config = pytest.importorskip("botocore.config")
botocore_exceptions = pytest.importorskip("botocore.exceptions")
ClientError = botocore_exceptions.ClientError

pytestmark = pytest.mark.django_db(transaction=True)
INPUT = {"source": "Is this a cat?", "id": 7}


def a2i_client(live_server, key_id: str, secret: str):
    return boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=f"{live_server.url}/a2i",
        region_name="eu-west-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=botocore_config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def key(manager):
    return access_key_create(user=manager)


@pytest.fixture
def a2i(live_server, key):
    return a2i_client(live_server, key.access_key_id, key.secret_access_key)


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def start(a2i, flow, name, content=INPUT):
    return a2i.start_human_loop(
        HumanLoopName=name,
        FlowDefinitionArn=flow_arn(flow),
        HumanLoopInput={"InputContent": json.dumps(content)},
    )


def flow_arn(flow) -> str:
    return f"arn:aws:sagemaker:us-east-1:000000000000:flow-definition/{flow.name}"


def test_all_five_operations_with_the_real_client(a2i, make_flow, labeler, live_server, manager):
    flow = make_flow(name="cats")
    started = start(a2i, flow, "loop-1")
    assert started["HumanLoopArn"].endswith(":human-loop/loop-1")
    start(a2i, flow, "loop-2", {"source": "second"})

    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert described["HumanLoopStatus"] == "InProgress"
    assert described["FlowDefinitionArn"] == flow_arn(flow)
    assert isinstance(described["CreationTime"], datetime)
    assert "HumanLoopOutput" not in described

    # A reviewer answers loop-1 through the labeling endpoints.
    reviewer = client_for(labeler)
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "cat"}}},
        format="json",
    )
    assert answered.status_code == 201
    described = a2i.describe_human_loop(HumanLoopName=lease["item"]["data"]["quorum-human-loop"])
    assert described["HumanLoopStatus"] == "Completed"
    with urllib.request.urlopen(described["HumanLoopOutput"]["OutputS3Uri"]) as response:
        output = json.loads(response.read())
    assert output["humanAnswers"][0]["answerContent"] == {"label": "cat"}
    assert output["inputContent"] in (INPUT, {"source": "second"})

    listed = a2i.list_human_loops(FlowDefinitionArn=flow_arn(flow), SortOrder="Ascending")
    assert [s["HumanLoopName"] for s in listed["HumanLoopSummaries"]] == ["loop-1", "loop-2"]
    page = a2i.list_human_loops(FlowDefinitionArn=flow_arn(flow), MaxResults=1)
    assert [s["HumanLoopName"] for s in page["HumanLoopSummaries"]] == ["loop-2"]
    rest = a2i.list_human_loops(
        FlowDefinitionArn=flow_arn(flow), MaxResults=1, NextToken=page["NextToken"]
    )
    assert [s["HumanLoopName"] for s in rest["HumanLoopSummaries"]] == ["loop-1"]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert (
        a2i.list_human_loops(FlowDefinitionArn=flow_arn(flow), CreationTimeAfter=future)[
            "HumanLoopSummaries"
        ]
        == []
    )
    paginator = a2i.get_paginator("list_human_loops")
    names = [
        s["HumanLoopName"]
        for p in paginator.paginate(
            FlowDefinitionArn=flow_arn(flow), PaginationConfig={"PageSize": 1}
        )
        for s in p["HumanLoopSummaries"]
    ]
    assert sorted(names) == ["loop-1", "loop-2"]

    other = "loop-2" if lease["item"]["data"]["quorum-human-loop"] == "loop-1" else "loop-1"
    assert a2i.stop_human_loop(HumanLoopName=other)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert a2i.describe_human_loop(HumanLoopName=other)["HumanLoopStatus"] in (
        "Stopping",
        "Stopped",
    )
    HumanLoop.objects.filter(name=other).update(status="Stopped")  # no worker in this test
    assert a2i.delete_human_loop(HumanLoopName=other)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as gone:
        a2i.describe_human_loop(HumanLoopName=other)
    assert error_code(gone) == "ResourceNotFoundException"


def test_the_operations_errors(a2i, make_flow, settings, monkeypatch):
    flow = make_flow(name="errs")
    start(a2i, flow, "taken")
    cases = [
        (lambda: start(a2i, flow, "taken"), "ConflictException", 409),
        (lambda: start(a2i, flow, "Bad_Name"), "ValidationException", 400),
        (
            lambda: a2i.start_human_loop(
                HumanLoopName="x",
                FlowDefinitionArn="arn:aws:sagemaker:us-east-1:000000000000:flow-definition/nope",
                HumanLoopInput={"InputContent": "{}"},
            ),
            "ResourceNotFoundException",
            404,
        ),
        (
            lambda: a2i.start_human_loop(
                HumanLoopName="x",
                FlowDefinitionArn=flow_arn(flow),
                HumanLoopInput={"InputContent": "not json"},
            ),
            "ValidationException",
            400,
        ),
        (
            lambda: a2i.describe_human_loop(HumanLoopName="missing"),
            "ResourceNotFoundException",
            404,
        ),
        (lambda: a2i.stop_human_loop(HumanLoopName="missing"), "ResourceNotFoundException", 404),
        (lambda: a2i.delete_human_loop(HumanLoopName="taken"), "ValidationException", 400),
        (
            lambda: a2i.list_human_loops(FlowDefinitionArn="arn:not-a-flow"),
            "ValidationException",
            400,
        ),
        (
            lambda: a2i.list_human_loops(FlowDefinitionArn=flow_arn(flow), NextToken="garbage"),
            "ValidationException",
            400,
        ),
    ]
    for call, code, status in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == code, excinfo.value.response
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert excinfo.value.response["Error"]["Message"]
    a2i.stop_human_loop(HumanLoopName="taken")
    with pytest.raises(ClientError) as twice:
        a2i.stop_human_loop(HumanLoopName="taken")
    assert error_code(twice) == "ValidationException"

    settings.QUORUM_MAX_OPEN_LOOPS_PER_FLOW = 0
    with pytest.raises(ClientError) as quota:
        start(a2i, flow, "over-quota")
    assert error_code(quota) == "ServiceQuotaExceededException"
    settings.QUORUM_MAX_OPEN_LOOPS_PER_FLOW = 1000

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr("workflows.a2i.human_loop_start", broken)
        with pytest.raises(ClientError) as internal:
            start(a2i, flow, "breaks")
    assert error_code(internal) == "InternalServerException"
    assert internal.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

    settings.QUORUM_A2I_MAX_REQUESTS_PER_SECOND = 1
    codes = []
    for _ in range(10):
        try:
            a2i.list_human_loops(FlowDefinitionArn=flow_arn(flow))
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert "ThrottlingException" in codes


def test_signatures_are_checked_on_every_request(a2i, key, live_server, make_flow, monkeypatch):
    flow = make_flow(name="sig")
    start(a2i, flow, "signed-ok")

    wrong_key = a2i_client(live_server, "QKIAUNKNOWNKEY000000", key.secret_access_key)
    with pytest.raises(ClientError) as excinfo:
        wrong_key.describe_human_loop(HumanLoopName="signed-ok")
    assert error_code(excinfo) == "UnrecognizedClientException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    wrong_secret = a2i_client(live_server, key.access_key_id, "not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        wrong_secret.describe_human_loop(HumanLoopName="signed-ok")
    assert error_code(excinfo) == "InvalidSignatureException"

    def tamper(request, **kwargs):
        request.body = request.body.replace(b"tampered-one", b"tampered-two")

    a2i.meta.events.register("before-send.sagemaker-a2i-runtime.StartHumanLoop", tamper)
    with pytest.raises(ClientError) as excinfo:
        start(a2i, flow, "tampered-one")
    assert error_code(excinfo) == "InvalidSignatureException"
    a2i.meta.events.unregister("before-send.sagemaker-a2i-runtime.StartHumanLoop", tamper)
    assert not HumanLoop.objects.filter(name__startswith="tampered").exists()

    stale = datetime.now(UTC) - timedelta(minutes=20)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: stale.replace(tzinfo=None))
    with pytest.raises(ClientError) as excinfo:
        a2i.describe_human_loop(HumanLoopName="signed-ok")
    assert error_code(excinfo) == "InvalidSignatureException"
    assert "expired" in excinfo.value.response["Error"]["Message"]
    monkeypatch.undo()

    access_key_revoke(key=key)
    with pytest.raises(ClientError) as excinfo:
        a2i.describe_human_loop(HumanLoopName="signed-ok")
    assert error_code(excinfo) == "UnrecognizedClientException"

    unsigned = urllib.request.Request(f"{live_server.url}/a2i/human-loops/signed-ok")
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(unsigned)
    assert raw.value.code == 403
    assert raw.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def refused(url: str) -> tuple[int, str, str]:
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(url)
    error = excinfo.value
    return error.code, error.headers["x-amzn-ErrorType"], json.loads(error.read())["message"]


def completed_loop_output_uri(a2i, flow, labeler, name: str) -> str:
    start(a2i, flow, name)
    reviewer = client_for(labeler)
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "dog"}}},
        format="json",
    )
    assert answered.status_code == 201
    described = a2i.describe_human_loop(HumanLoopName=name)
    assert described["HumanLoopStatus"] == "Completed"
    return described["HumanLoopOutput"]["OutputS3Uri"]


def test_output_links_are_signed(a2i, live_server, make_flow, labeler):
    assert refused(f"{live_server.url}/a2i/output/not-a-token")[:2] == (403, "AccessDenied")

    flow = make_flow(name="outputs")
    uri = completed_loop_output_uri(a2i, flow, labeler, "out-1")
    with urllib.request.urlopen(uri) as response:
        assert json.loads(response.read())["humanLoopName"] == "out-1"
    # Tampered: one character of the token's payload or of its signature changed.
    token = uri.rsplit("/", 1)[1]
    for position in (1, len(token) - 2):
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        code, error, message = refused(uri.replace(token, changed))
        assert (code, error) == (403, "AccessDenied") and "not valid" in message


def test_output_links_expire(a2i, make_flow, labeler, monkeypatch, settings):
    """A link handed out longer ago than QUORUM_OUTPUT_URL_MAX_AGE_SECONDS is refused."""
    settings.QUORUM_OUTPUT_URL_MAX_AGE_SECONDS = 3600
    issued_two_hours_ago = signing.b62_encode(int(time.time()) - 7200)
    flow = make_flow(name="expiring")
    with monkeypatch.context() as patch:
        patch.setattr(signing.TimestampSigner, "timestamp", lambda self: issued_two_hours_ago)
        uri = completed_loop_output_uri(a2i, flow, labeler, "old-1")
    code, error, message = refused(uri)
    assert (code, error) == (403, "AccessDenied") and "expired" in message
    fresh = a2i.describe_human_loop(HumanLoopName="old-1")["HumanLoopOutput"]["OutputS3Uri"]
    with urllib.request.urlopen(fresh) as response:
        assert json.loads(response.read())["humanLoopName"] == "old-1"


def test_a_crowd_flow_needs_both_content_classifiers(a2i, manager, make_labeler):
    crowd = team_create(name="Crowd", kind=TeamKind.CROWD)
    flow = flow_create(
        created_by=manager,
        name="crowd-review",
        team=crowd,
        task_type="text-classification",
        labels=["cat", "dog"],
        data_may_leave_private=True,
    )
    arn = flow_arn(flow)
    content = {"InputContent": json.dumps(INPUT)}
    for given, missing in (
        (None, "FreeOfPersonallyIdentifiableInformation and FreeOfAdultContent"),
        (["FreeOfAdultContent"], "FreeOfPersonallyIdentifiableInformation"),
        (["FreeOfPersonallyIdentifiableInformation"], "FreeOfAdultContent"),
    ):
        extra = {} if given is None else {"DataAttributes": {"ContentClassifiers": given}}
        with pytest.raises(ClientError) as excinfo:
            a2i.start_human_loop(
                HumanLoopName="c-1", FlowDefinitionArn=arn, HumanLoopInput=content, **extra
            )
        assert error_code(excinfo) == "ValidationException"
        message = excinfo.value.response["Error"]["Message"]
        assert f"must include {missing}" in message and "crowd workforce" in message
    assert not HumanLoop.objects.filter(name="c-1").exists()

    with pytest.raises(ClientError) as unknown:
        a2i.start_human_loop(
            HumanLoopName="c-1",
            FlowDefinitionArn=arn,
            HumanLoopInput=content,
            DataAttributes={"ContentClassifiers": ["FreeOfAdultContent", "FreeOfCats"]},
        )
    assert error_code(unknown) == "ValidationException"
    assert "FreeOfCats" in unknown.value.response["Error"]["Message"]

    both = ["FreeOfAdultContent", "FreeOfPersonallyIdentifiableInformation"]
    a2i.start_human_loop(
        HumanLoopName="c-1",
        FlowDefinitionArn=arn,
        HumanLoopInput=content,
        DataAttributes={"ContentClassifiers": both},
    )
    loop = HumanLoop.objects.get(name="c-1")
    assert loop.content_classifiers == [
        "FreeOfPersonallyIdentifiableInformation",
        "FreeOfAdultContent",
    ]


def test_a_private_flow_takes_loops_with_or_without_classifiers(a2i, make_flow):
    flow = make_flow(name="private-review")
    start(a2i, flow, "p-1")
    a2i.start_human_loop(
        HumanLoopName="p-2",
        FlowDefinitionArn=flow_arn(flow),
        HumanLoopInput={"InputContent": json.dumps(INPUT)},
        DataAttributes={"ContentClassifiers": ["FreeOfAdultContent"]},
    )
    stored = dict(HumanLoop.objects.values_list("name", "content_classifiers"))
    assert stored == {"p-1": [], "p-2": ["FreeOfAdultContent"]}


def test_a_revoked_key_or_demoted_owner_is_refused(a2i, key, make_flow, manager, settings):
    flow = make_flow(name="keys")
    start(a2i, flow, "k-1")
    # Other processes remember a secret for QUORUM_A2I_KEY_CACHE_SECONDS; with 0 they read
    # it on every request, and an owner who is no longer a manager is refused at once.
    settings.QUORUM_A2I_KEY_CACHE_SECONDS = 0
    manager.role = Role.LABELER
    manager.save(update_fields=["role"])
    with pytest.raises(ClientError) as excinfo:
        start(a2i, flow, "k-2")
    assert error_code(excinfo) == "UnrecognizedClientException"
    manager.role = Role.MANAGER
    manager.save(update_fields=["role"])
    settings.QUORUM_A2I_KEY_CACHE_SECONDS = 3600
    start(a2i, flow, "k-3")
    access_key_revoke(key=key)  # this process forgets the secret at once
    with pytest.raises(ClientError) as revoked:
        start(a2i, flow, "k-4")
    assert error_code(revoked) == "UnrecognizedClientException"


def test_create_access_key_prints_the_pair_last(manager, capsys):
    call_command("create_access_key", manager.username)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    key_id, secret = last.split(" ")
    stored = AccessKey.objects.get(access_key_id=key_id)
    assert secret_decrypt(stored.secret_encrypted) == secret and stored.user == manager
    labeler, _, _ = user_create(username="lab9", role=Role.LABELER)
    with pytest.raises(Exception, match="managers only"):
        call_command("create_access_key", "lab9")


def test_start_human_loop_refuses_a_prediction_outside_the_flows_labels(a2i, make_flow):
    """issue 12: the model's label in InputContent is shown pre-selected, so it must be one
    of the flow's labels; one that is is carried to the reviewers' task."""
    flow = make_flow(name="labels")
    with pytest.raises(ClientError) as refused:
        start(a2i, flow, "odd", {"source": "x", "prediction": {"label": "zebra"}})
    assert error_code(refused) == "ValidationException"
    assert "'zebra'" in refused.value.response["Error"]["Message"]
    assert not HumanLoop.objects.filter(flow=flow).exists()

    start(a2i, flow, "fine", {"source": "x", "prediction": {"label": "dog", "confidence": 0.4}})
    loop = HumanLoop.objects.select_related("flow").get(name="fine")
    assert (loop.model_label, loop.model_confidence) == ("dog", 0.4)
