"""The vendor console: a vendor manager sees and runs their own organization only."""

import pytest
from django.test import Client

from labeling.models import TeamKind, TeamMembership, User
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_create, job_start
from labeling.services.users import user_create
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import job_grant, job_publish, vendor_create
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db


def _job(manager, team, name, *, reward=0, items=2):
    job = job_create(
        created_by=manager, name=name, task_type="text-classification", labels=["a", "b"],
        team=team, data_may_leave_private=True,
    )  # fmt: skip
    import_lines(job, manager, [{"source": f"{name} {i}"} for i in range(items)])
    return job_start(job=job, by=manager)


@pytest.fixture
def world(manager, team):
    """Two vendors with a member each, a private team's job and a crowd job."""
    acme = vendor_create(
        name="Acme", manager_username="acme-boss", manager_password="acme-vendor-pw-7!"
    )
    other = vendor_create(name="Globex", manager_username="globex-boss",
                          manager_password="globex-vendor-pw-7!")  # fmt: skip
    worker, _, _ = user_create(username="acme-worker", role="labeler", team=acme)
    stranger, _, _ = user_create(username="globex-worker", role="labeler", team=other)
    acme_job = _job(manager, acme, "acme-job")
    globex_job = _job(manager, other, "globex-job")
    private_job = _job(manager, team, "private-job")
    crowd = team_create(name="crowd", kind=TeamKind.CROWD)
    crowd_job = _job(manager, crowd, "crowd-job")
    job_publish(job=crowd_job, reward_cents=4, qualification_pass_mark=None)
    acme_job.reward_cents = 5
    acme_job.save(update_fields=["reward_cents"])
    lease = assignment_claim(job=acme_job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "a"})
    lease = assignment_claim(job=globex_job, worker=stranger)
    annotation_submit(assignment_id=lease.pk, worker=stranger, answer={"label": "b"})
    return {
        "acme": acme, "other": other, "worker": worker, "stranger": stranger,
        "acme_job": acme_job, "globex_job": globex_job, "private_job": private_job,
        "crowd_job": crowd_job,
    }  # fmt: skip


def _as(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_home_leads_a_vendor_manager_to_their_console(world):
    boss = _as(world["acme"].vendor_manager)
    page = boss.get("/", follow=True)
    assert page.redirect_chain[-1][0] == "/vendor/"
    html = page.content.decode()
    assert 'href="/vendor/" aria-current="page">My organization' in html
    assert "/console/" not in html and "/work/" not in html


def test_the_console_shows_only_the_own_organization_and_its_granted_jobs(world):
    page = _as(world["acme"].vendor_manager).get("/vendor/")
    assert page.status_code == 200
    assert [m.username for m in page.context["members"]] == ["acme-worker"]
    assert [row["job"].name for row in page.context["jobs"]] == ["acme-job"]
    (job_row,) = page.context["jobs"]
    assert job_row["job"].items_total == 2 and job_row["job"].answers_total == 1
    assert page.context["work"] == [{"worker": "acme-worker", "job": "acme-job",
                                     "answers": 1, "cents": 5}]  # fmt: skip
    html = page.content.decode()
    for foreign in ("globex", "Globex", "private-job", "crowd-job"):
        assert foreign not in html


def test_a_granted_job_appears_on_the_console_and_to_the_members(manager, world):
    assert "private-job" not in _as(world["worker"]).get("/work/").content.decode()
    job_grant(job=world["private_job"], team=world["acme"])
    console = _as(world["acme"].vendor_manager).get("/vendor/")
    assert {row["job"].name for row in console.context["jobs"]} == {"acme-job", "private-job"}
    mine = _as(world["worker"]).get("/work/").content.decode()
    assert "private-job" in mine and "acme-job" in mine
    assert "globex-job" not in mine and "crowd-job" not in mine
    assert _as(world["worker"]).get(f"/work/jobs/{world['globex_job'].pk}/").status_code == 404
    assert _as(world["worker"]).get(f"/work/jobs/{world['crowd_job'].pk}/").status_code == 404


def test_add_remove_and_reset_a_member(world):
    boss = _as(world["acme"].vendor_manager)
    added = boss.post("/vendor/members", {"username": "acme-2"}, follow=True)
    assert "“acme-2” is a member now" in added.content.decode()
    newcomer = User.objects.get(username="acme-2")
    assert TeamMembership.objects.filter(team=world["acme"], user=newcomer).exists()
    assert not newcomer.has_usable_password()

    reset = boss.post(f"/vendor/members/{newcomer.pk}/reset", follow=True)
    (message,) = [str(m) for m in reset.context["messages"]]
    password = message.split("shown only now: ")[1].split(" ")[0]
    assert Client().login(username="acme-2", password=password)

    removed = boss.post(f"/vendor/members/{newcomer.pk}/remove", follow=True)
    assert "The member was removed" in removed.content.decode()
    assert not TeamMembership.objects.filter(team=world["acme"], user=newcomer).exists()


def test_a_vendor_manager_cannot_touch_another_vendors_members(world):
    boss = _as(world["acme"].vendor_manager)
    stranger = world["stranger"]
    before = stranger.password
    reset = boss.post(f"/vendor/members/{stranger.pk}/reset", follow=True)
    assert "is not a member of Acme" in reset.content.decode()
    stranger.refresh_from_db()
    assert stranger.password == before
    removed = boss.post(f"/vendor/members/{stranger.pk}/remove", follow=True)
    assert "is not a member of Acme" in removed.content.decode()
    assert TeamMembership.objects.filter(team=world["other"], user=stranger).exists()


def test_no_other_role_reaches_the_vendor_console(manager, world):
    for user in (manager, world["worker"]):
        assert _as(user).get("/vendor/").status_code == 403
        assert _as(user).post("/vendor/members", {"username": "x"}).status_code == 403
    assert Client().get("/vendor/").status_code == 302  # to the sign-in page
    boss = _as(world["acme"].vendor_manager)
    for page in ("/console/", f"/console/jobs/{world['acme_job'].pk}/", "/work/",
                 "/work/marketplace"):  # fmt: skip
        assert boss.get(page).status_code == 403


def test_a_vendor_manager_without_a_team_gets_a_403(db):
    lonely, _, _ = user_create(username="lonely", role="vendor_manager")
    assert _as(lonely).get("/vendor/").status_code == 403
