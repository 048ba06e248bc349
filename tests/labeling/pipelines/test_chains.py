"""Chained jobs (issue 16 point 1): a child job's items are its parent's output lines, passed
as the parent consolidates them, filtered, continued, exported merged, and guarded."""

import json

import pytest

from labeling.errors import ValidationFailed
from labeling.models import ChainPassage, ConsolidatedLabel, Item, Job
from labeling.pipelines.services.chains import (
    chain_item_flow,
    chain_link_create,
    chain_links_sweep,
)
from labeling.services.jobs import job_create, job_stop
from labeling.services.machine_labels import MachineLabel, items_label_by_model
from labeling.states import ItemStatus, JobStatus
from labeling.task_types import get_task_type, task_type_choices
from tests.conftest import client_for, import_lines
from tests.labeling.data.test_exports_never_fail import CASES, _frames, _images, _texts
from tests.task_types.helpers import image_job, manifest, work
from tests.task_types.test_polylines_and_lines import lines_answer

pytestmark = pytest.mark.django_db

# Parent task types with a sample answer: (labels, lines, answer); CASES has the drawing ones.
ANSWERS = {
    **CASES,
    "text-classification": (["cat", "dog"], _texts, {"label": "cat"}),
    "image-classification": (["cat", "dog"], _images, {"label": "dog"}),
    "video-classification": (["run", "walk"], _frames, {"label": "run"}),
    "image-classification-multilabel": (
        ["cat", "dog"],
        _images,
        {"categories": {"labels": ["cat"]}},
    ),
    "text-entity-recognition-overlapping": CASES["text-entity-recognition"],
    "image-polyline": (
        ["lane"],
        _images,
        lines_answer("polylines", "crowdPolyline", ("lane", [(10, 10), (110, 10), (110, 60)])),
    ),
    "image-line": (
        ["lane"],
        _images,
        lines_answer("lines", "crowdLine", ("lane", [(1, 1), (9, 9)])),
    ),
}
# Drawing types whose earlier labels a verification and an adjustment job read (p16-verify).
EARLIER_LABEL_BASES = (
    "image-semantic-segmentation",
    "image-polygon",
    "image-keypoint",
    "video-object-detection",
    "video-object-tracking",
)
# Types that take a parent's output only (covered as children), or whose items are not media
# lines another built-in type reads: each says why it is not a parent here.
NOT_PARENTS = {
    "image-bounding-box-adjustment": "needs earlier boxes itself (tested as a child)",
    "image-label-verification": "needs an earlier label itself (tested as a child)",
    "custom": "its items are any JSON; a custom child reads any line (tested as a child)",
    "llm-pairwise-preference": "a prompt and two responses: its children are custom jobs",
    "llm-ranking": "a prompt and responses: its children are custom jobs",
    "llm-rubric-rating": "a prompt and a response: its children are custom jobs",
    "llm-qa-writing": "a context to write questions on: its children are custom jobs",
    "llm-side-by-side": "a prompt and two responses: its children are custom jobs",
    **{
        f"{base}-{kind}": "needs an earlier label itself (tested as a child)"
        for base in EARLIER_LABEL_BASES
        for kind in ("verification", "adjustment")
    },
}
CHILDREN = {
    "text": ["text-classification", "custom"],
    "image": ["image-classification", "custom"],
    "video": ["video-classification"],
}
BOX_READERS = ["image-bounding-box-adjustment", "image-label-verification"]


def _job(manager, team, name, task_type, labels, **fields) -> Job:
    return job_create(
        created_by=manager, name=name, task_type=task_type, labels=labels, team=team, **fields
    )


def test_every_task_type_with_a_manifest_shape_chains_to_a_child_that_reads_it(
    settings, manager, team, labeler, django_capture_on_commit_callbacks
):
    parents = [key for key, _ in task_type_choices() if key not in NOT_PARENTS]
    assert set(parents) <= set(ANSWERS), "a new task type needs a chain case here"
    for key in parents:
        labels, lines, answer = ANSWERS[key]
        parent = image_job(
            manager, team, task_type=key, labels=labels, lines=lines(settings.MEDIA_ROOT)[:2]
        )
        media = get_task_type(key).media
        children = CHILDREN[media] + (BOX_READERS if key == "image-bounding-box" else [])
        if key in EARLIER_LABEL_BASES:
            children += [f"{key}-verification", f"{key}-adjustment"]
        made = []
        for n, child_type in enumerate(children):
            child = _job(manager, team, f"{key}-child-{n}", child_type, ["yes", "no"])
            chain_link_create(parent=parent, child=child, by=manager)
            made.append(child)
            assert Job.objects.get(pk=child.pk).status == JobStatus.IN_PROGRESS
        with django_capture_on_commit_callbacks(execute=True):
            work(parent, [labeler], [[answer]])  # one of two items: the parent is not done
        parent.refresh_from_db()
        assert parent.status == JobStatus.IN_PROGRESS, key
        # The labeled line (segmentation's attribute is "<name>-ref" with "<name>-ref-metadata").
        (parent_line,) = [
            line
            for line in manifest(parent, manager)
            if any(
                k.startswith(parent.label_attribute_name) for k in line if k.endswith("-metadata")
            )
        ]
        for child in made:
            (item,) = Item.objects.filter(job=child)
            line = json.loads(item.data)
            # The parent's manifest line exactly, and the child's task type takes it.
            assert line == parent_line, (key, child.task_type)
            get_task_type(child.task_type).check_source(line)
            assert item.status == ItemStatus.OPEN


def test_a_child_that_cannot_read_the_parent_is_refused_naming_why(settings, manager, team):
    text = image_job(
        manager, team, task_type="text-classification", labels=["a", "b"], lines=_texts(None)
    )
    boxes = image_job(
        manager,
        team,
        task_type="image-polygon",
        labels=["roof"],
        lines=_images(settings.MEDIA_ROOT),
    )
    adjust = _job(manager, team, "adjust", "image-bounding-box-adjustment", ["car"])
    with pytest.raises(ValidationFailed, match="reads earlier labels.*groundtruth/polygon"):
        chain_link_create(parent=boxes, child=adjust, by=manager)
    image_child = _job(manager, team, "img", "image-classification", ["x"])
    with pytest.raises(ValidationFailed, match="the parent's items are text"):
        chain_link_create(parent=text, child=image_child, by=manager)
    same_attribute = _job(
        manager, team, "same", "text-classification-multilabel", ["a"],
        label_attribute_name=text.label_attribute_name,
    )  # fmt: skip
    with pytest.raises(ValidationFailed, match="continues it, so it needs the parent's task"):
        chain_link_create(parent=text, child=same_attribute, by=manager)
    child = _job(manager, team, "ok", "text-classification", ["x"])
    with pytest.raises(ValidationFailed, match="the parent job has no label 'zebra'"):
        chain_link_create(parent=text, child=child, by=manager, labels=["zebra"])
    with pytest.raises(ValidationFailed, match="confidence_below must be in"):
        chain_link_create(parent=text, child=child, by=manager, confidence_below=2)


def test_filters_label_set_confidence_below_and_machine_labeled(
    make_job, manager, team, make_labeler, django_capture_on_commit_callbacks
):
    parent = make_job(items=4, workers_per_item=1)
    by_label = _job(manager, team, "dogs", "text-classification", ["puppy", "adult"])
    unsure = _job(manager, team, "unsure", "text-classification", ["cat", "dog", "bird"])
    machine = _job(manager, team, "machine", "text-classification", ["ok", "wrong"])
    chain_link_create(parent=parent, child=by_label, by=manager, labels=["dog"])
    chain_link_create(parent=parent, child=unsure, by=manager, confidence_below=0.9)
    chain_link_create(parent=parent, child=machine, by=manager, machine_labeled_only=True)
    first, second, third, fourth = Item.objects.filter(job=parent).order_by("id")
    with django_capture_on_commit_callbacks(execute=True):
        items_label_by_model(
            job_id=parent.pk,
            labels=[
                MachineLabel(item_id=first.pk, label="dog", value={"label": "dog", "class_id": 1}, confidence=0.95),  # noqa: E501
                MachineLabel(item_id=second.pk, label="cat", value={"label": "cat", "class_id": 0}, confidence=0.5),  # noqa: E501
            ],
            method="model",
        )  # fmt: skip
        # Items labeled by a model publish no event of their own: the sweep passes them.
        chain_links_sweep()
        work(parent, [make_labeler("w1")], [[{"label": "dog"}]])  # the third item, by a person
    sources = {
        job.name: sorted(json.loads(i.data)["n"] for i in Item.objects.filter(job=job))
        for job in (by_label, unsure, machine)
    }
    third_sure = ConsolidatedLabel.objects.get(item=third).confidence >= 0.9
    assert sources == {"dogs": [0, 2], "unsure": [1] if third_sure else [1, 2], "machine": [0, 1]}
    reasons = set(
        ChainPassage.objects.filter(link__child=unsure, status="filtered").values_list(
            "reason", flat=True
        )
    )
    assert any("is not below 0.9" in reason for reason in reasons)
    assert fourth.status == ItemStatus.OPEN


def test_items_flow_as_consolidated_not_at_the_end(
    make_job, manager, team, make_labeler, django_capture_on_commit_callbacks
):
    parent = make_job(items=3)
    child = _job(manager, team, "next", "text-classification", ["a", "b"])
    chain_link_create(parent=parent, child=child, by=manager)
    worker = make_labeler("w1")
    with django_capture_on_commit_callbacks(execute=True):
        work(parent, [worker], [[{"label": "cat"}]])
    parent.refresh_from_db()
    assert parent.status == JobStatus.IN_PROGRESS
    assert Item.objects.filter(job=child).count() == 1
    graph = client_for(manager).get(f"/api/v1/jobs/{child.pk}/chain").json()
    (edge,) = graph["edges"]
    assert (edge["passed"], edge["pending"], edge["waiting"]) == (1, 0, 2)
    # Redelivered: an item is passed at most once per link.
    labeled = Item.objects.get(job=parent, status=ItemStatus.LABELED)
    assert chain_item_flow(job_id=parent.pk, item_id=labeled.pk) == {str(child.pk): ""}
    assert chain_links_sweep() == 0
    assert Item.objects.filter(job=child).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        work(parent, [worker], [[{"label": "dog"}, {"label": "bird"}]])
    assert Item.objects.filter(job=child).count() == 3
    child.refresh_from_db()
    assert child.open_ended is False  # the parent completed: the child may complete now


def test_a_stopped_job_continues_from_its_output(
    make_job, manager, team, make_labeler, django_capture_on_commit_callbacks
):
    parent = make_job(items=3)
    with django_capture_on_commit_callbacks(execute=True):
        work(parent, [make_labeler("w1")], [[{"label": "dog"}]])
    job_stop(job=parent, by=manager)
    output = manifest(parent, manager)
    attribute = parent.label_attribute_name
    assert sum(attribute in line for line in output) == 1
    # 1. Through a chain link: the same attribute name continues.
    link_child = _job(
        manager, team, "continued", "text-classification", parent.labels,
        label_attribute_name=attribute,
    )  # fmt: skip
    link = chain_link_create(parent=parent, child=link_child, by=manager)
    assert link.continues
    assert Item.objects.filter(job=link_child).count() == 3
    assert Item.objects.filter(job=link_child, status=ItemStatus.LABELED).count() == 1
    # 2. Through an import of the output manifest (the line carrying the attribute).
    imported = _job(
        manager, team, "reimported", "text-classification", parent.labels,
        label_attribute_name=attribute,
    )  # fmt: skip
    run = import_lines(imported, manager, output)
    assert run.status == "succeeded", run.errors
    labeled = ConsolidatedLabel.objects.get(job=imported)
    assert labeled.label == "dog" and labeled.item.status == ItemStatus.LABELED
    for job in (link_child, imported):
        assert client_for(manager).post(f"/api/v1/jobs/{job.pk}/start").status_code == 200
        job.refresh_from_db()
        again = manifest(job, manager)
        assert [line.get(attribute) for line in again] == [line.get(attribute) for line in output]
        assert [line["source"] for line in again] == [line["source"] for line in output]
    # Only the two unlabeled items are worked.
    worker = make_labeler("w2")
    with django_capture_on_commit_callbacks(execute=True):
        work(imported, [worker], [[{"label": "cat"}, {"label": "bird"}]])
    imported.refresh_from_db()
    assert imported.status == JobStatus.COMPLETED


def test_a_carried_label_the_job_does_not_have_is_refused_at_import(make_job, manager):
    job = make_job(items=0, start=False)
    line = {"source": "x", job.label_attribute_name: 7, f"{job.label_attribute_name}-metadata": {}}
    run = import_lines(job, manager, [line])
    assert run.status == "failed"
    assert "the job has 3 labels" in run.errors[0]["reason"]


def test_the_export_of_a_chain_merges_every_jobs_attributes(
    make_job, manager, team, make_labeler, django_capture_on_commit_callbacks
):
    parent = make_job(items=2)
    child = _job(manager, team, "age", "text-classification", ["young", "old"])
    chain_link_create(parent=parent, child=child, by=manager)
    with django_capture_on_commit_callbacks(execute=True):  # callbacks run at the block's end
        work(parent, [make_labeler("w1")], [[{"label": "dog"}, {"label": "cat"}]])
    child.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        work(child, [make_labeler("w2")], [[{"label": "old"}]])
    leaf = manifest(child, manager)
    labeled_leaf = [line for line in leaf if child.label_attribute_name in line]
    assert len(labeled_leaf) == 1
    assert parent.label_attribute_name in labeled_leaf[0]
    body = client_for(manager).get(f"/api/v1/jobs/{child.pk}/chain/export")
    assert body.status_code == 200
    lines = [json.loads(x) for x in b"".join(body.streaming_content).decode().splitlines()]
    assert len(lines) == 2
    assert lines[0][parent.label_attribute_name + "-metadata"]["class-name"] == "dog"
    assert lines[0][child.label_attribute_name + "-metadata"]["class-name"] == "old"
    assert child.label_attribute_name not in lines[1]


def test_only_managers_link_and_read_chains(make_job, manager, team, labeler):
    parent = make_job(items=1)
    child = _job(manager, team, "c", "text-classification", ["a"])
    labeler_api = client_for(labeler)
    assert labeler_api.get(f"/api/v1/jobs/{parent.pk}/chain").status_code == 403
    assert (
        labeler_api.post(
            f"/api/v1/jobs/{child.pk}/chain", {"parent_id": parent.pk}, format="json"
        ).status_code
        == 403
    )  # noqa: E501
    api = client_for(manager)
    missing = api.post(f"/api/v1/jobs/{child.pk}/chain", {"parent_id": 999999}, format="json")
    assert missing.status_code == 404
    bad = api.post(
        f"/api/v1/jobs/{child.pk}/chain", {"parent_id": parent.pk, "labels": ["zebra"]},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and "zebra" in bad.json()["error"]["message"]
    made = api.post(f"/api/v1/jobs/{child.pk}/chain", {"parent_id": parent.pk}, format="json")
    assert made.status_code == 201
    assert {job["id"] for job in made.json()["jobs"]} == {parent.pk, child.pk}
    page = api.get(f"/api/v1/jobs/{parent.pk}/chain")
    assert page.json()["edges"][0]["child"] == child.pk
    again = api.post(f"/api/v1/jobs/{child.pk}/chain", {"parent_id": parent.pk}, format="json")
    assert again.status_code == 409


def test_the_job_page_draws_the_chain(make_job, manager, team, client):
    parent = make_job(items=1)
    child = _job(manager, team, "drawn", "text-classification", ["a"])
    chain_link_create(parent=parent, child=child, by=manager)
    client.force_login(manager)
    page = client.get(f"/console/jobs/{child.pk}/").content.decode()
    assert 'id="chain-graph"' in page
    assert f'href="/console/jobs/{parent.pk}/"' in page
    assert "0 passed" in page and "0 pending" in page
    alone = make_job(items=1)
    assert 'id="chain-graph"' not in client.get(f"/console/jobs/{alone.pk}/").content.decode()
