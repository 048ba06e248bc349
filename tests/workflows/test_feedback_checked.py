"""A reviewed loop joins the flow's dataset job as a label that job's task type takes: the
class is that job's (its own class id), and a dataset job of another kind is refused."""

import pytest

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, Job
from tests.conftest import client_for
from tests.workflows.test_review_loops import CONDITIONS, prediction, review, route

pytestmark = pytest.mark.django_db


def _dataset(manager, team, **fields):
    values = {
        "name": "training-set",
        "label_attribute_name": "animal",
        "task_type": "text-classification",
        "labels": ["bird", "cat", "dog"],
        "team": team,
        "created_by": manager,
    }
    values.update(fields)
    return Job.objects.create(**values)


def test_a_dataset_job_of_another_task_type_is_refused(make_flow, manager, team):
    dataset = _dataset(manager, team, task_type="text-entity-recognition")
    with pytest.raises(ValidationFailed, match="text-entity-recognition") as refused:
        make_flow(conditions=CONDITIONS, dataset_job=dataset)
    assert refused.value.details["field"] == "dataset_job"


def test_the_reviewed_label_takes_the_dataset_jobs_class_id(
    make_flow, manager_client, make_labeler, manager, team, django_capture_on_commit_callbacks
):
    dataset = _dataset(manager, team)  # the flow's labels are cat, dog, bird: another order
    flow = make_flow(conditions=CONDITIONS, workers_per_loop=1, dataset_job=dataset)
    route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    with django_capture_on_commit_callbacks(execute=True):
        review(client_for(make_labeler("rev")), flow, "dog")
    label = ConsolidatedLabel.objects.get(job=dataset)
    assert label.value == {"label": "dog", "class_id": 2}
