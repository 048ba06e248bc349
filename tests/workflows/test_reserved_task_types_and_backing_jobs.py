"""The review-* task types are only for flows' backing jobs, which the jobs list leaves out."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from labeling.models import Job
from labeling.services.jobs import job_create
from labeling.task_types import task_type_choices, task_type_reserved_message

REVIEW_TYPE = "review-text-classification"


@pytest.fixture
def manager_web(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_review_task_types_are_not_offered_for_jobs():
    keys = [key for key, _ in task_type_choices()]
    assert "text-classification" in keys
    assert not [key for key in keys if key.startswith("review-")]
    assert task_type_reserved_message("text-classification") == ""
    assert REVIEW_TYPE in task_type_reserved_message(REVIEW_TYPE)


@pytest.mark.django_db
def test_the_job_api_refuses_a_review_task_type_by_name(manager_client, team):
    response = manager_client.post(
        "/api/v1/jobs",
        {"name": "sneaky", "task_type": REVIEW_TYPE, "labels": ["a"], "team": team.pk},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "task_type" in error["details"]["fields"]
    assert error["message"].startswith(f"task_type: task type '{REVIEW_TYPE}' is reserved for")
    assert "flow" in error["message"] and "'text-classification'" in error["message"]
    assert not Job.objects.filter(name="sneaky").exists()


@pytest.mark.django_db
def test_the_new_job_form_hides_and_refuses_review_task_types(manager_web, team):
    page = manager_web.get("/console/jobs/new")
    assert page.status_code == 200
    assert b'value="text-classification"' in page.content
    assert b'value="review-' not in page.content
    response = manager_web.post(
        "/console/jobs/new",
        {"name": "sneaky", "task_type": REVIEW_TYPE, "labels": "a", "team": team.pk},
    )
    assert response.status_code == 200
    assert f"Task type &#x27;{REVIEW_TYPE}&#x27; is reserved for".encode() in response.content
    assert not Job.objects.filter(name="sneaky").exists()


@pytest.mark.django_db
def test_the_jobs_list_leaves_out_flows_backing_jobs(manager_web, make_flow, manager, team):
    flow = make_flow(name="support-tickets")
    own = job_create(
        created_by=manager, name="tickets", task_type="text-classification", labels=["a"], team=team
    )
    assert flow.job.listed is False and own.listed is True
    listing = manager_web.get("/console/")
    assert b'href="/console/jobs/%d/"' % own.pk in listing.content
    assert b'href="/console/jobs/%d/"' % flow.job_id not in listing.content
    # The flow's page links its backing job, whose dashboard still opens.
    flow_page = manager_web.get(f"/console/flows/{flow.pk}/")
    assert b'href="/console/jobs/%d/"' % flow.job_id in flow_page.content
    assert manager_web.get(f"/console/jobs/{flow.job_id}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_unlists_existing_backing_jobs(make_flow):
    flow = make_flow(name="older-flow")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([("workflows", "0001_review_loops")])
    assert Job.objects.get(pk=flow.job_id).listed is True  # the reverse step lists it again
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    assert Job.objects.get(pk=flow.job_id).listed is False
