"""Every path that sets a password applies every Django password rule, for every role; the
open sign-up's usernames are kept to a safe character set, refused with a named reason."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from labeling.errors import ValidationFailed
from labeling.management.commands.load_demo import LABELERS, MANAGER
from labeling.models import Role, TeamInvitation, TeamKind, User
from labeling.services.users import password_check, user_create
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import vendor_create
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

WEAK = ["password", "12345678"]


@pytest.mark.parametrize("password", WEAK)
@pytest.mark.parametrize("role", [Role.LABELER, Role.VENDOR_MANAGER, Role.MANAGER])
def test_the_service_refuses_a_weak_password_for_every_role(role, password):
    with pytest.raises(ValidationFailed) as refused:
        user_create(username="someone", role=role, password=password)
    assert refused.value.code == "weak_password"
    assert refused.value.details["field"] == "password"
    assert not User.objects.filter(username="someone").exists()


@pytest.mark.parametrize("password", WEAK)
def test_the_api_refuses_weak_worker_passwords(manager_client, password):
    response = manager_client.post(
        "/api/v1/workers", {"username": "w1", "password": password}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_password"


@pytest.mark.parametrize("password", WEAK)
def test_vendor_managers_and_members_get_the_rules(manager_client, password):
    refused = manager_client.post(
        "/api/v1/vendors",
        {"name": "Acme", "manager_username": "acme-boss", "manager_password": password},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "weak_password"
    vendor_create(name="Acme", manager_username="acme-boss", manager_password="vendor-manager-pw-1")
    boss = User.objects.get(username="acme-boss")
    member = client_for(boss).post(
        "/api/v1/vendor/members", {"username": "acme-1", "password": password}, format="json"
    )
    assert member.status_code == 400 and member.json()["error"]["code"] == "weak_password"
    console = Client()
    console.force_login(boss)
    console.post("/vendor/members", {"username": "acme-2", "password": password})
    assert not User.objects.filter(username__in=["acme-1", "acme-2"]).exists()


@pytest.mark.parametrize("password", WEAK)
def test_the_console_refuses_a_weak_labeler_password(manager, team, password):
    console = Client()
    console.force_login(manager)
    response = console.post(
        "/console/teams/labelers",
        {"labeler-username": "newbie", "labeler-password": password, "labeler-team": team.pk},
    )
    assert response.status_code == 200
    assert response.context["labeler_form"].errors["password"]
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("password", WEAK)
def test_joining_by_invitation_refuses_a_weak_password(manager, password):
    team = team_create(name="Private", kind=TeamKind.PRIVATE)
    console = Client()
    console.force_login(manager)
    console.post(f"/console/teams/{team.pk}/invite")
    token = TeamInvitation.objects.get().token
    page = Client().post(f"/join/{token}", {"username": "joiner", "password": password})
    assert "password" in page.content.decode()
    assert not User.objects.filter(username="joiner").exists()


@pytest.mark.parametrize("password", WEAK)
def test_the_create_user_command_refuses_weak_passwords_also_on_reset(manager, password):
    with pytest.raises(CommandError, match="password"):
        call_command("create_user", "cli-user", "--role", "labeler", "--password", password)
    assert not User.objects.filter(username="cli-user").exists()
    with pytest.raises(CommandError, match="password"):
        call_command("create_user", "pm", "--role", "manager", "--password", password)
    manager.refresh_from_db()
    assert manager.check_password("manager-pass-1")


def test_the_demo_passwords_meet_the_rules():
    for username, password in [MANAGER, *LABELERS]:
        password_check(user=User(username=username), password=password)


def _signup(username: str):
    return APIClient().post(
        "/api/v1/crowd/signup",
        {"username": username, "password": "long-enough-pass-417"},
        format="json",
    )


@pytest.mark.parametrize(
    ("username", "rule"),
    [
        ("ab", "too_short"),
        ("a" * 41, "too_long"),
        ("-dash-first", "first_character"),
        (".dot", "first_character"),
        ("with space", "characters"),
        ("<script>x", "characters"),
        ("ålice", "characters"),
        ("semi;colon", "characters"),
    ],
)
def test_open_signup_refuses_unsafe_usernames_naming_the_rule(username, rule):
    response = _signup(username)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_username"
    assert error["details"] == {"field": "username", "rule": rule}
    assert not User.objects.filter(username=username).exists()


@pytest.mark.parametrize("username", ["abc", "Jo.Doe_2-x", "a" * 40, "9lives"])
def test_open_signup_accepts_safe_usernames(username):
    assert _signup(username).status_code == 201


def test_the_signup_page_names_the_username_rule():
    page = Client().post("/signup", {"username": "a b", "password": "long-enough-pass-417"})
    assert "letters, digits" in page.content.decode()
    assert not User.objects.filter(username="a b").exists()
