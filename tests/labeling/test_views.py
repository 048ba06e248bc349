"""The portal and console pages: who sees what, the task fragment, and the console's forms."""

import io
import json

import pytest
from django.test import Client
from PIL import Image

from labeling.models import Job, Team
from labeling.services.assignments import assignment_claim
from labeling.services.users import user_create
from labeling.states import JobStatus
from labeling.task_ui.rendering import (
    MAX_TASK_HTML_CHARS,
    TaskRenderError,
    render_template,
    task_environment,
)
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def job_form(team: Team, **overrides) -> dict:
    values = {
        "name": "Sentiment of reviews",
        "task_type": "text-classification",
        "labels": "Positive\nNegative\n\nNeutral\n",
        "team": str(team.pk),
        "workers_per_item": "3",
        "task_time_limit_seconds": "300",
        "availability_lifetime_hours": "240",
        "max_concurrent_tasks_per_worker": "1",
        "short_instructions": "Pick the sentiment.",
        "full_instructions": "Read the whole review.",
        "good_examples": "Love it | Positive | clearly happy",
        "bad_examples": "Arrived Tuesday | Positive | only a fact",
        "label_attribute_name": "",
    }
    values.update(overrides)
    return values


# --- Who may open what ----------------------------------------------------------------------


def test_home_sends_each_role_to_its_start_page(manager, labeler):
    assert signed_in(manager).get("/").url == "/console/"
    assert signed_in(labeler).get("/").url == "/work/"


def test_pages_ask_strangers_to_sign_in(client):
    for path in ("/", "/work/", "/console/", "/console/jobs/new", "/console/teams"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")


def test_a_labeler_cannot_open_the_console(labeler, make_job):
    job = make_job()
    client = signed_in(labeler)
    for path in ("/console/", "/console/jobs/new", f"/console/jobs/{job.pk}/", "/console/teams"):
        assert client.get(path).status_code == 403
    assert client.post(f"/console/jobs/{job.pk}/stop").status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS


def test_a_manager_is_not_a_labeler(manager):
    assert signed_in(manager).get("/work/").status_code == 403


def test_logout_is_a_post(labeler):
    client = signed_in(labeler)
    page = client.get("/work/").content.decode()
    assert 'action="/logout/"' in page and 'method="post"' in page
    assert client.post("/logout/").status_code == 302
    assert client.get("/work/").status_code == 302


def test_pages_carry_a_strict_content_security_policy(labeler, make_job):
    make_job()
    policy = signed_in(labeler).get("/work/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


# --- Labeler portal -------------------------------------------------------------------------


def test_a_labeler_sees_only_jobs_of_their_teams(manager, labeler, make_job):
    mine = make_job(name="ours")
    other_team = team_create(name="Team B")
    theirs = make_job(name="theirs", team=other_team)
    make_job(name="draft-of-ours", start=False)
    page = signed_in(labeler).get("/work/").content.decode()
    assert "ours" in page and f"/work/jobs/{mine.pk}/" in page
    assert "theirs" not in page and f"/work/jobs/{theirs.pk}/" not in page
    assert "draft-of-ours" not in page
    assert signed_in(labeler).get(f"/work/jobs/{theirs.pk}/").status_code == 404


def test_my_jobs_shows_items_left_and_my_answers(labeler, make_job, labeler_client):
    job = make_job(items=3)
    lease = labeler_client.post(f"/api/v1/jobs/{job.pk}/tasks/next").json()
    labeler_client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "dog"}}},
        format="json",
    )
    page = signed_in(labeler).get("/work/").content.decode()
    assert '<dd data-figure="items-remaining">2</dd>' in page
    assert '<dd data-figure="my-answers">1</dd>' in page


def test_the_work_page_loads_its_script(labeler, make_job):
    job = make_job()
    page = signed_in(labeler).get(f"/work/jobs/{job.pk}/").content.decode()
    assert f'data-job-id="{job.pk}"' in page
    assert "quorum/work.js" in page and 'type="module"' in page
    assert 'name="csrf-token"' in page


def test_the_work_page_of_a_stopped_job_says_so(manager, labeler, make_job):
    job = make_job()
    signed_in(manager).post(f"/console/jobs/{job.pk}/stop")
    page = signed_in(labeler).get(f"/work/jobs/{job.pk}/").content.decode()
    assert "stopped" in page and "quorum/work.js" not in page


# --- The task UI fragment -------------------------------------------------------------------


def test_the_task_fragment_is_the_workers_own_lease(labeler, make_labeler, make_job):
    job = make_job()
    lease = assignment_claim(job=job, worker=labeler)
    response = signed_in(labeler).get(f"/work/assignments/{lease.pk}/ui")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<crowd-form>" in html and "<crowd-classifier" in html
    assert 'categories=\'["cat", "dog", "bird"]\'' in html
    assert "text 0" in html
    assert response["Cache-Control"] == "no-store"


def test_the_task_fragment_of_someone_elses_lease_is_404(labeler, make_labeler, make_job):
    job = make_job()
    lease = assignment_claim(job=job, worker=make_labeler("lab2"))
    assert signed_in(labeler).get(f"/work/assignments/{lease.pk}/ui").status_code == 404
    assert signed_in(labeler).get("/work/assignments/999999/ui").status_code == 404


def test_the_task_fragment_of_an_ended_lease_is_404(labeler, make_job, labeler_client):
    job = make_job()
    lease = assignment_claim(job=job, worker=labeler)
    labeler_client.post(f"/api/v1/assignments/{lease.pk}/skip")
    assert signed_in(labeler).get(f"/work/assignments/{lease.pk}/ui").status_code == 404


def test_the_task_fragment_escapes_html_in_the_item(manager, labeler, make_job):
    job = make_job(items=0, start=False, labels=["<b>bold</b>", "it's"])
    job.short_instructions = "<img src=x onerror=alert(1)>"
    Job.objects.filter(pk=job.pk).update(short_instructions=job.short_instructions)
    import_lines(job, manager, [{"source": "<script>alert('x')</script> & <b>hi</b>"}])
    signed_in(manager).post(f"/console/jobs/{job.pk}/start")
    job.refresh_from_db()
    lease = assignment_claim(job=job, worker=labeler)
    html = signed_in(labeler).get(f"/work/assignments/{lease.pk}/ui").content.decode()
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;hi&lt;/b&gt;" in html
    # The labels travel as JSON in a single-quoted attribute: no quote can end it early.
    assert 'categories=\'["\\u003cb\\u003ebold\\u003c/b\\u003e", "it\\u0027s"]\'' in html


def test_the_image_task_fragment_points_at_the_item_media(manager, labeler, make_job, settings):
    (settings.MEDIA_ROOT / "pic.png").write_bytes(_png())
    job = make_job(items=0, start=False, task_type="image-classification")
    import_lines(job, manager, [{"source-ref": "pic.png"}])
    signed_in(manager).post(f"/console/jobs/{job.pk}/start")
    job.refresh_from_db()
    lease = assignment_claim(job=job, worker=labeler)
    html = signed_in(labeler).get(f"/work/assignments/{lease.pk}/ui").content.decode()
    assert f'src="/api/v1/items/{lease.item_id}/media"' in html
    assert "<crowd-image-classifier" in html


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, format="PNG")
    return out.getvalue()


def test_the_sandbox_refuses_unsafe_access_and_huge_output():
    environment = task_environment(loader=None)
    unsafe = environment.from_string("{{ task.__class__.__mro__ }}")
    with pytest.raises(TaskRenderError):
        render_template(unsafe, {"task": {}})
    huge = environment.from_string("{% for i in range(n) %}{{ line }}{% endfor %}")
    with pytest.raises(TaskRenderError, match="more than"):
        render_template(huge, {"n": 3000, "line": "x" * 1000})
    assert MAX_TASK_HTML_CHARS < 3000 * 1000


# --- Console: jobs --------------------------------------------------------------------------


def test_the_jobs_list_shows_status_and_progress(manager, make_job):
    job = make_job(name="list-me", items=4)
    page = signed_in(manager).get("/console/").content.decode()
    assert "list-me" in page and f"/console/jobs/{job.pk}/" in page
    assert "In progress" in page and "0 / 4" in page


def test_the_job_form_shows_a_field_error_for_empty_labels(manager, team):
    response = signed_in(manager).post("/console/jobs/new", job_form(team, labels=" \n \n"))
    assert response.status_code == 200
    assert "Enter at least one label, one per line." in response.content.decode()
    assert response.context["form"].errors["labels"]
    assert not Job.objects.exists()


def test_the_job_form_puts_a_service_refusal_on_its_field(manager, team):
    client = signed_in(manager)

    def post(**fields):
        form = job_form(team, good_examples="", bad_examples="", **fields)
        return client.post("/console/jobs/new", form)

    response = post(labels="cat\ndog\ncat")
    assert response.context["form"].errors["labels"] == ["labels repeat: cat"]
    response = post(label_attribute_name="bad name!")
    assert "label_attribute_name" in response.context["form"].errors
    assert post(name="twice").status_code == 302
    response = post(name="twice")
    assert "exists already" in response.context["form"].errors["name"][0]
    assert Job.objects.count() == 1


def test_the_job_form_checks_ranges_and_examples(manager, team):
    response = signed_in(manager).post(
        "/console/jobs/new",
        job_form(team, workers_per_item="10", good_examples="just text", bad_examples="x | Nope"),
    )
    errors = response.context["form"].errors
    assert "workers_per_item" in errors
    assert "good_examples" in errors and "bad_examples" in errors
    assert not Job.objects.exists()


def test_the_job_form_creates_a_job(manager, team):
    response = signed_in(manager).post("/console/jobs/new", job_form(team))
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/console/jobs/{job.pk}/"
    assert job.labels == ["Positive", "Negative", "Neutral"]
    assert job.workers_per_item == 3
    assert job.availability_lifetime_seconds == 240 * 3600
    assert job.created_by == manager and job.team == team and job.status == JobStatus.DRAFT
    assert job.examples == [
        {"kind": "good", "source": "Love it", "label": "Positive", "explanation": "clearly happy"},
        {
            "kind": "bad",
            "source": "Arrived Tuesday",
            "label": "Positive",
            "explanation": "only a fact",
        },
    ]


def test_the_dashboard_shows_progress_workers_and_labels(manager, labeler, make_job):
    job = make_job(items=2, workers_per_item=1)
    lease = assignment_claim(job=job, worker=labeler)
    client_for(labeler).post(
        f"/api/v1/assignments/{lease.pk}/submit", {"answer": {"label": "dog"}}, format="json"
    )
    response = signed_in(manager).get(f"/console/jobs/{job.pk}/")
    page = response.content.decode()
    assert '<span data-count="items_labeled">1</span>' in page
    assert '<span data-count="items_total">2</span>' in page
    assert "lab1" in page
    assert f"/api/v1/jobs/{job.pk}/export?format=manifest" in page
    assert f"/api/v1/jobs/{job.pk}/export?format=csv" in page
    assert f'data-url="/api/v1/jobs/{job.pk}/items"' in page
    chart = response.context["labels_over_time"]
    assert chart["series"] == [{"label": "dog", "counts": [1]}]
    assert 'id="labels-over-time" type="application/json"' in page


def test_start_and_stop_buttons_post_to_the_services(manager, make_job):
    job = make_job(start=False)
    client = signed_in(manager)
    page = client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert f'action="/console/jobs/{job.pk}/start"' in page
    assert client.get(f"/console/jobs/{job.pk}/start").status_code == 405
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT

    response = client.post(f"/console/jobs/{job.pk}/start", follow=True)
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS
    assert "The job started" in response.content.decode()

    response = client.post(f"/console/jobs/{job.pk}/stop", follow=True)
    job.refresh_from_db()
    assert job.status == JobStatus.STOPPED
    assert "The job stopped" in response.content.decode()

    response = client.post(f"/console/jobs/{job.pk}/start", follow=True)
    assert "The job was not started" in response.content.decode()


def test_starting_a_job_without_items_says_why(manager, make_job):
    job = make_job(items=0, start=False)
    response = signed_in(manager).post(f"/console/jobs/{job.pk}/start", follow=True)
    assert "import items before starting the job" in response.content.decode()


# --- Console: teams -------------------------------------------------------------------------


def test_a_manager_creates_a_team_and_adds_a_labeler(manager):
    client = signed_in(manager)
    response = client.post("/console/teams", {"team-name": "Reviewers"})
    assert response.status_code == 302
    team = Team.objects.get(name="Reviewers")
    response = client.post(
        "/console/teams/labelers",
        {
            "labeler-username": "newbie",
            "labeler-password": "long-password-1",
            "labeler-team": team.pk,
        },
    )
    assert response.status_code == 302
    page = client.get("/console/teams").content.decode()
    assert "Reviewers" in page and "newbie" in page
    assert Client().login(username="newbie", password="long-password-1")


def test_the_teams_forms_show_their_errors(manager, team, labeler):
    client = signed_in(manager)
    response = client.post("/console/teams", {"team-name": "Team A"})
    assert "exists already" in response.context["team_form"].errors["name"][0]
    response = client.post(
        "/console/teams/labelers",
        {"labeler-username": "someone", "labeler-password": "", "labeler-team": team.pk},
    )
    assert response.context["labeler_form"].errors["password"]
    response = client.post(
        "/console/teams/labelers",
        {"labeler-username": "lab1", "labeler-password": "new-pass-123", "labeler-team": team.pk},
    )
    assert "exists already" in response.context["labeler_form"].errors["password"][0]
    response = client.post(
        "/console/teams/labelers",
        {"labeler-username": "short", "labeler-password": "x", "labeler-team": team.pk},
    )
    assert response.context["labeler_form"].errors["password"]


def test_an_existing_labeler_joins_another_team(manager, labeler):
    other = team_create(name="Team B")
    response = signed_in(manager).post(
        "/console/teams/labelers",
        {"labeler-username": "lab1", "labeler-password": "", "labeler-team": other.pk},
    )
    assert response.status_code == 302
    assert set(labeler.teams.values_list("name", flat=True)) == {"Team A", "Team B"}


def test_a_manager_cannot_be_put_on_a_team(manager, team):
    user_create(username="boss2", role="manager", password="manager-pass-2")
    response = signed_in(manager).post(
        "/console/teams/labelers",
        {"labeler-username": "boss2", "labeler-password": "", "labeler-team": team.pk},
    )
    assert "not a labeler" in response.context["labeler_form"].errors["username"][0]


def test_the_lease_json_and_fragment_agree_on_the_answer_shape(labeler, make_job, labeler_client):
    """What <crowd-form> sends, keyed by the element's name, is what the server takes."""
    job = make_job()
    lease = labeler_client.post(f"/api/v1/jobs/{job.pk}/tasks/next").json()
    html = signed_in(labeler).get(f"/work/assignments/{lease['assignment_id']}/ui").content
    assert b'name="category"' in html
    response = labeler_client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "bird"}}},
        format="json",
    )
    assert response.status_code == 201, json.dumps(response.json())
