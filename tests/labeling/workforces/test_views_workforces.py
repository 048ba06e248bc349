"""The crowd's portal pages: sign-up, marketplace with earnings, the qualification test."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import TeamInvitation, TeamKind, TeamMembership, User
from labeling.quality.services.gold import gold_items_add
from labeling.services.jobs import job_create, job_start
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import job_publish
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(manager):
    team = team_create(name="crowd", kind=TeamKind.CROWD)
    job = job_create(
        created_by=manager, name="birds", task_type="text-classification",
        labels=["owl", "gull"], team=team, data_may_leave_private=True,
    )  # fmt: skip
    import_lines(job, manager, [{"source": "hoot"}])
    gold_items_add(job=job, entries=[{"data": {"source": "a hooting bird"}, "label": "owl"}],
                   purpose="qualification")  # fmt: skip
    job = job_start(job=job, by=manager)
    return job_publish(job=job, reward_cents=3, qualification_pass_mark=1.0)


def test_sign_up_take_the_test_and_work(published):
    browser = Client()
    page = browser.post(
        "/signup", {"username": "newbie", "password": "newbie-pass-8812"}, follow=True
    )
    assert page.redirect_chain[-1][0] == "/work/marketplace"
    html = page.content.decode()
    assert "birds" in html and "3 ¢" in html and "Take the test" in html

    test = browser.get(f"/work/marketplace/{published.pk}/qualification")
    assert "a hooting bird" in test.content.decode()
    assert "owl" in test.content.decode()  # as a choice, like every label
    (question,) = test.context["questions"]
    done = browser.post(
        f"/work/marketplace/{published.pk}/qualification",
        {f"q{question['item_id']}": "owl"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == f"/work/jobs/{published.pk}/"
    assert TeamMembership.objects.filter(
        team=published.team, user=User.objects.get(username="newbie")
    ).exists()


def test_sign_up_refuses_a_taken_name(published):
    Client().post("/signup", {"username": "dup", "password": "dup-pass-99811"})
    again = Client().post("/signup", {"username": "dup", "password": "dup-pass-99811"})
    assert again.status_code == 200 and "is taken" in again.content.decode()


def test_managers_do_not_use_the_marketplace(manager, published):
    browser = Client()
    browser.force_login(manager)
    assert browser.get("/work/marketplace").status_code == 403


def test_an_invitation_link_from_the_teams_page(manager, make_job):
    job = make_job(items=1)
    console = Client()
    console.force_login(manager)
    done = console.post(f"/console/teams/{job.team_id}/invite", follow=True)
    assert "Invitation link to Team A" in done.content.decode()
    token = TeamInvitation.objects.get().token

    newcomer = Client()
    joined = newcomer.post(
        f"/join/{token}", {"username": "joiner", "password": "joiner-pass-331"}, follow=True
    )
    assert joined.redirect_chain[-1][0] == "/work/"
    assert job.name in joined.content.decode()

    TeamInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    late = Client().post(f"/join/{token}", {"username": "late", "password": "late-pass-331"})
    assert late.status_code == 409 and "expired" in late.content.decode()
    assert 'name="password"' not in late.content.decode()
    assert not User.objects.filter(username="late").exists()


def test_an_invitation_link_that_is_not_valid_answers_404_without_the_form(db):
    """An unknown token is refused as one (it used to answer 200 with the sign-up form, and
    200 again to its POST): the link is the credential (tests/routes/)."""
    for page in (
        Client().get("/join/not-a-real-token"),
        Client().post("/join/not-a-real-token", {"username": "x-user", "password": "x-pass-4471"}),
    ):
        assert page.status_code == 404
        assert "this invitation link is not valid" in page.content.decode()
        assert 'name="password"' not in page.content.decode()
    assert not User.objects.filter(username="x-user").exists()


def test_the_console_creates_crowd_and_vendor_teams(manager):
    console = Client()
    console.force_login(manager)
    console.post("/console/teams", {"team-name": "Outside", "team-kind": "crowd"})
    page = console.get("/console/teams").content.decode()
    assert "Outside" in page and "External crowd" in page


def test_the_workforce_page_refuses_a_grant_without_the_statement(manager, make_job):
    job = make_job(items=1)
    crowd = team_create(name="Everyone", kind=TeamKind.CROWD)
    console = Client()
    console.force_login(manager)
    refused = console.post(
        f"/console/jobs/{job.pk}/workforce", {"action": "grant", "team": crowd.pk}, follow=True
    )
    assert "can only go to a private team" in refused.content.decode()
    console.post(
        f"/console/jobs/{job.pk}/workforce", {"action": "statement", "data_may_leave": "on"}
    )
    granted = console.post(
        f"/console/jobs/{job.pk}/workforce", {"action": "grant", "team": crowd.pk}, follow=True
    )
    assert "The job is now Everyone" in granted.content.decode()
    published = console.post(
        f"/console/jobs/{job.pk}/workforce",
        {"action": "publish", "reward_cents": "4", "pass_mark": ""},
        follow=True,
    )
    assert "on the marketplace at 4" in published.content.decode()
