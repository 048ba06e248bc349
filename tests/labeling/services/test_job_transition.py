"""Job creation rules and the draft → in progress → completed / stopped machine."""

import pytest

from labeling.errors import Conflict, InvalidTransition, ValidationFailed
from labeling.models import JobStatusChange
from labeling.services.jobs import job_create, job_start, job_stop, job_transition
from labeling.states import JobStatus

pytestmark = pytest.mark.django_db


def test_a_job_moves_only_along_allowed_transitions(make_job, manager):
    job = make_job(items=1, start=False)
    with pytest.raises(InvalidTransition):
        job_transition(job=job, to=JobStatus.COMPLETED, by=manager)
    job_start(job=job, by=manager)
    assert job.started_at and job.expires_at > job.started_at
    job_stop(job=job, by=manager)
    with pytest.raises(InvalidTransition):
        job_start(job=job, by=manager)
    moves = list(JobStatusChange.objects.filter(job=job).values_list("from_status", "to_status"))
    assert moves == [("draft", "in_progress"), ("in_progress", "stopped")]


def test_a_stale_copy_cannot_move_a_job_twice(make_job, manager):
    job = make_job(items=1, start=False)
    stale = type(job).objects.get(pk=job.pk)
    job_start(job=job, by=manager)
    with pytest.raises(InvalidTransition, match="meanwhile"):
        job_transition(job=stale, to=JobStatus.IN_PROGRESS, by=manager)


def test_a_job_without_items_cannot_start(make_job, manager):
    job = make_job(items=0, start=False)
    with pytest.raises(Conflict, match="import items"):
        job_start(job=job, by=manager)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"labels": []}, "labels"),
        ({"labels": ["a", "a"]}, "labels"),
        ({"labels": ["a", " "]}, "labels"),
        ({"workers_per_item": 10}, "workers_per_item"),
        ({"workers_per_item": 0}, "workers_per_item"),
        ({"task_type": "video-magic"}, "task_type"),
        ({"label_attribute_name": "bad name!"}, "label_attribute_name"),
        ({"label_attribute_name": "x-metadata"}, "label_attribute_name"),
        ({"task_time_limit_seconds": 5}, "task_time_limit_seconds"),
        ({"examples": [{"kind": "ugly"}]}, "examples"),
    ],
)
def test_bad_job_fields_are_named(manager, team, fields, field):
    values = {"name": "j", "task_type": "text-classification", "labels": ["a", "b"], "team": team}
    values.update(fields)
    with pytest.raises(ValidationFailed) as refused:
        job_create(created_by=manager, **values)
    assert refused.value.details["field"] == field


def test_job_names_are_unique(manager, team):
    job_create(
        created_by=manager, name="j", task_type="text-classification", labels=["a"], team=team
    )
    with pytest.raises(Conflict):
        job_create(
            created_by=manager, name="j", task_type="text-classification", labels=["a"], team=team
        )


def test_the_label_attribute_defaults_to_a_slug_of_the_name(manager, team):
    job = job_create(
        created_by=manager,
        name="Cats & dogs 2",
        task_type="image-classification",
        labels=["a"],
        team=team,
    )
    assert job.label_attribute_name == "Cats-dogs-2"
