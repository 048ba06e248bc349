"""Work teams, the private workforce and vendors' teams through the real boto3 client."""

import pytest

from control_plane.models import WorkteamSpec
from labeling.models import Team, TeamKind
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import vendor_create
from tests.control_plane.conftest import error_of

ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = [{"OidcMemberDefinition": {"Groups": ["labelers"]}}]


def test_work_teams_create_describe_update_list_delete(sagemaker, live_server, team):
    created = sagemaker.create_workteam(
        WorkteamName="reviewers",
        MemberDefinitions=MEMBERS,
        Description="Our reviewers",
        NotificationConfiguration={
            "NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:topic"
        },
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    assert created["WorkteamArn"].endswith(":workteam/private-crowd/reviewers")
    assert Team.objects.get(name="reviewers").kind == TeamKind.PRIVATE
    described = sagemaker.describe_workteam(WorkteamName="reviewers")["Workteam"]
    assert described["SubDomain"] == f"{live_server.url}/work/"
    assert described["MemberDefinitions"] == MEMBERS
    assert described["Description"] == "Our reviewers"
    assert described["WorkforceArn"].endswith(":workforce/default")

    updated = sagemaker.update_workteam(WorkteamName="reviewers", Description="Renamed")
    assert updated["Workteam"]["Description"] == "Renamed"
    assert updated["Workteam"]["MemberDefinitions"] == MEMBERS
    assert WorkteamSpec.objects.get(team__name="reviewers").request["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_workteam(
            WorkteamName="reviewers", MemberDefinitions=MEMBERS, Description="again"
        )
    assert error_of(excinfo)[0] == "ResourceInUse"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_workteam(
            WorkteamName="x", WorkforceName="other", MemberDefinitions=MEMBERS, Description="d"
        )
    assert error_of(excinfo)[0] == "ResourceNotFound"

    listed = sagemaker.list_workteams(SortBy="Name", SortOrder="Ascending")["Workteams"]
    assert [t["WorkteamName"] for t in listed] == ["Team A", "reviewers"]
    assert [
        t["WorkteamName"] for t in sagemaker.list_workteams(NameContains="REV")["Workteams"]
    ] == ["reviewers"]
    pages = sagemaker.get_paginator("list_workteams").paginate(PaginationConfig={"PageSize": 1})
    # Oldest first: the model's default SortOrder is Ascending.
    assert [t["WorkteamName"] for p in pages for t in p["Workteams"]] == ["Team A", "reviewers"]

    assert sagemaker.delete_workteam(WorkteamName="reviewers")["Success"] is True
    for call in (sagemaker.update_workteam, sagemaker.delete_workteam):
        with pytest.raises(ClientError) as excinfo:
            call(WorkteamName="reviewers")
        assert error_of(excinfo)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_workteam(WorkteamName="reviewers")
    assert error_of(excinfo) == ("ResourceNotFound", "Workteam reviewers does not exist")


def test_a_team_with_jobs_is_in_use_and_the_private_workforce(sagemaker, make_job, live_server):
    busy = team_create(name="busy-team")
    make_job(items=1, team=busy)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.delete_workteam(WorkteamName="busy-team")
    assert error_of(excinfo)[0] == "ResourceInUse"
    assert Team.objects.filter(pk=busy.pk).exists()
    workforce = sagemaker.describe_workforce(WorkforceName="default")["Workforce"]
    assert workforce["WorkforceName"] == "default" and workforce["Status"] == "Active"
    assert workforce["SubDomain"] == f"{live_server.url}/work/"
    assert [w["WorkforceName"] for w in sagemaker.list_workforces()["Workforces"]] == ["default"]
    assert sagemaker.list_workforces(NameContains="zzz")["Workforces"] == []
    pages = sagemaker.get_paginator("list_workforces").paginate(PaginationConfig={"PageSize": 1})
    assert [w["WorkforceName"] for p in pages for w in p["Workforces"]] == ["default"]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_workforce(WorkforceName="elsewhere")
    assert error_of(excinfo)[0] == "ResourceNotFound"


def test_vendor_teams_are_subscribed_work_teams(sagemaker, team):
    vendor_create(name="acme-labeling", manager_username="acme", manager_password="Acme-pass-123!")
    vendor_create(name="beta-vendor", manager_username="beta", manager_password="Beta-pass-123!")
    listed = sagemaker.list_subscribed_workteams()["SubscribedWorkteams"]
    assert [t["MarketplaceTitle"] for t in listed] == ["acme-labeling", "beta-vendor"]
    assert listed[0]["SellerName"] == "acme"
    arn = listed[0]["WorkteamArn"]
    assert arn.endswith(":workteam/vendor-crowd/acme-labeling")
    described = sagemaker.describe_subscribed_workteam(WorkteamArn=arn)["SubscribedWorkteam"]
    assert described["MarketplaceTitle"] == "acme-labeling"
    pages = sagemaker.get_paginator("list_subscribed_workteams").paginate(
        PaginationConfig={"PageSize": 1}
    )
    assert [t["MarketplaceTitle"] for p in pages for t in p["SubscribedWorkteams"]] == [
        "acme-labeling",
        "beta-vendor",
    ]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_subscribed_workteam(
            WorkteamArn="arn:aws:sagemaker:us-east-1:123456789012:workteam/vendor-crowd/none"
        )
    assert error_of(excinfo)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_subscribed_workteam(
            WorkteamArn=f"arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/{team.name}"
        )
    assert error_of(excinfo)[0] == "ValidationException"
