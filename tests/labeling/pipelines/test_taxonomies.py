"""Hierarchical labels (issue 16 point 2): a taxonomy becomes a chain of jobs in one go; a
level-2 labeler sees the level-1 label; a parent relabeled by review moves or withdraws."""

import json

import pytest

from labeling.models import (
    Assignment,
    ChainLink,
    ChainPassage,
    Item,
    ItemEvent,
    Job,
    JobCounter,
)
from labeling.review.services.reviews import review_fix
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.states import JobStatus
from labeling.task_ui.rendering import task_ui_html
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import work

pytestmark = pytest.mark.django_db

PETS = {
    "labels": ["cat", "dog", "bird"],
    "children": {
        "cat": {"labels": ["kitten", "adult"]},
        "dog": {"labels": ["puppy", "adult"]},
    },
}


def _deep() -> dict:
    """Three levels, 10 x 10 x 3 = 300 leaves (111 jobs)."""
    return {
        "labels": [f"g{i}" for i in range(10)],
        "children": {
            f"g{i}": {
                "labels": [f"g{i}s{j}" for j in range(10)],
                "children": {
                    f"g{i}s{j}": {"labels": [f"g{i}s{j}l{k}" for k in range(3)]} for j in range(10)
                },
            }
            for i in range(10)
        },
    }


def _create(manager, team, name, definition, **extra):
    response = client_for(manager).post(
        "/api/v1/taxonomies",
        {
            "name": name,
            "team_id": team.pk,
            "task_type": "text-classification",
            "definition": definition,
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _job_named(name: str) -> Job:
    return Job.objects.get(name=name)


def test_a_three_level_taxonomy_of_300_leaves_is_built_and_items_reach_the_leaves(
    manager, team, make_labeler, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # Bulk: 111 jobs, 110 links and 7,104 counter shards in batches, not statements per row.
    with django_assert_max_num_queries(120):
        made = _create(manager, team, "deep", _deep(), attributes=["group", "sub", "leaf"])
    root = Job.objects.get(pk=made["root_job"])
    assert ChainLink.objects.filter(taxonomy_id=made["id"]).count() == 110
    leaves = sum(len(job.labels) for job in Job.objects.filter(label_attribute_name="leaf"))
    assert leaves == 300
    assert JobCounter.objects.filter(job__label_attribute_name="leaf").count() == 100 * 64
    run = import_lines(root, manager, [{"source": f"text {n}"} for n in range(2)])
    assert run.status == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        job_start(job=root, by=manager)
    assert not Job.objects.filter(pk__in=[root.pk]).exclude(status=JobStatus.IN_PROGRESS)
    assert Job.objects.filter(status=JobStatus.IN_PROGRESS).count() == 111
    worker = make_labeler("w1")
    with django_capture_on_commit_callbacks(execute=True):  # callbacks run at the block's end
        work(root, [worker], [[{"label": "g3"}]])
    with django_capture_on_commit_callbacks(execute=True):
        level2 = _job_named("deep / g3")
        # The level-2 labeler sees the level-1 label on the task page.
        lease = assignment_claim(job=level2, worker=worker)
        lease = Assignment.objects.select_related("job", "item").get(pk=lease.pk)
        page = task_ui_html(lease)
        assert "qc-earlier-labels" in page and "<strong>g3</strong>" in page
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "g3s7"})
    (leaf_item,) = Item.objects.filter(job=_job_named("deep / g3 / g3s7"))
    line = json.loads(leaf_item.data)
    assert line["group-metadata"]["class-name"] == "g3"
    assert line["sub-metadata"]["class-name"] == "g3s7"
    assert not Item.objects.filter(job=_job_named("deep / g4")).exists()


def test_a_bad_definition_is_refused_naming_where(manager, team):
    response = client_for(manager).post(
        "/api/v1/taxonomies",
        {
            "name": "bad",
            "team_id": team.pk,
            "task_type": "text-classification",
            "definition": {"labels": ["a"], "children": {"b": {"labels": ["x"]}}},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "children under labels the node does not have" in response.json()["error"]["message"]
    assert not Job.objects.filter(name="bad").exists()  # nothing half-written
    boxes = client_for(manager).post(
        "/api/v1/taxonomies",
        {"name": "b", "team_id": team.pk, "task_type": "image-bounding-box", "definition": PETS},
        format="json",
    )
    assert boxes.status_code == 400 and "choose one class" in boxes.json()["error"]["message"]


def _pets(manager, team, items: int, capture):
    made = _create(manager, team, "pets", PETS)
    root = Job.objects.get(pk=made["root_job"])
    import_lines(root, manager, [{"source": f"pet {n}"} for n in range(items)])
    with capture(execute=True):  # the children start with the root (job_started)
        job_start(job=root, by=manager)
    return root, _job_named("pets / cat"), _job_named("pets / dog")


def test_a_parent_relabeled_by_review_moves_the_item_to_the_right_child(
    manager, team, make_labeler, django_capture_on_commit_callbacks
):
    root, cats, dogs = _pets(manager, team, 1, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        work(root, [make_labeler("w1")], [[{"label": "cat"}]])
    assert Item.objects.filter(job=cats).count() == 1
    item = Item.objects.get(job=root)
    with django_capture_on_commit_callbacks(execute=True):
        review_fix(job=root, item_id=item.pk, reviewer=manager, answer={"label": "dog"})
    assert Item.objects.filter(job=cats).count() == 0  # nobody had answered it there
    (moved,) = Item.objects.filter(job=dogs)
    assert json.loads(moved.data)[f"{root.label_attribute_name}-metadata"]["class-name"] == "dog"
    statuses = dict(
        ChainPassage.objects.filter(parent_item=item).values_list("link__child__name", "status")
    )
    assert statuses == {"pets / cat": "withdrawn", "pets / dog": "passed"}
    graph = client_for(manager).get(f"/api/v1/jobs/{root.pk}/chain").json()
    counts = {edge["child"]: (edge["passed"], edge["withdrawn"]) for edge in graph["edges"]}
    assert counts == {cats.pk: (0, 1), dogs.pk: (1, 0)}


def test_a_relabel_to_a_label_without_a_child_job_withdraws_and_keeps_the_answers(
    manager, team, make_labeler, django_capture_on_commit_callbacks
):
    root, cats, _dogs = _pets(manager, team, 1, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        work(root, [make_labeler("w1")], [[{"label": "cat"}]])
    cats.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        work(cats, [make_labeler("w2")], [[{"label": "kitten"}]])
    item = Item.objects.get(job=root)
    with django_capture_on_commit_callbacks(execute=True):
        review_fix(job=root, item_id=item.pk, reviewer=manager, answer={"label": "bird"})
    (kept,) = Item.objects.filter(job=cats)  # answered there: kept, with its history
    assert kept.annotations.count() == 1
    passage = ChainPassage.objects.get(parent_item=item, link__child=cats)
    assert passage.status == "withdrawn"
    assert "'bird' is not one of cat" in passage.reason
    event = ItemEvent.objects.get(item=kept, kind="withdrawn")
    assert "relabeled in the parent" in event.data["reason"]


def test_the_console_form_builds_a_taxonomy(manager, team, client):
    client.force_login(manager)
    assert client.get("/console/taxonomies/new").status_code == 200
    response = client.post(
        "/console/taxonomies/new",
        {
            "name": "form-pets",
            "team": team.pk,
            "task_type": "text-classification",
            "workers_per_item": 1,
            "attributes": "",
            "definition": json.dumps(PETS),
        },
    )
    assert response.status_code == 302
    root = Job.objects.get(name="form-pets")
    assert response["Location"] == f"/console/jobs/{root.pk}/"
    assert Job.objects.filter(chain_parent_link__parent=root).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "form-pets / dog" in page
