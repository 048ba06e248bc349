"""Migrations that move stored data keep every count."""

from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("labeling", "0001_initial")]
AFTER = [("labeling", "0002_job_counter_shards")]


@pytest.fixture(autouse=True)
def _back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_job_counters_move_into_shard_zero_and_back():
    old = _migrate(BEFORE)
    User = old.get_model("labeling", "User")
    Team = old.get_model("labeling", "Team")
    Job = old.get_model("labeling", "Job")
    pm = User.objects.create(username="pm-migration", role="manager")
    team = Team.objects.create(name="migration team")
    common = {"task_type": "text-classification", "labels": ["a", "b"], "team": team}
    done = Job.objects.create(
        name="counted", created_by=pm, items_total=7, items_labeled=5, answers_total=12, **common
    )
    empty = Job.objects.create(name="empty", created_by=pm, **common)

    new = _migrate(AFTER)
    JobCounter = new.get_model("labeling", "JobCounter")
    shards = {(c.job_id, c.shard): (c.items_labeled, c.answers) for c in JobCounter.objects.all()}
    assert shards == {(done.pk, 0): (5, 12), (empty.pk, 0): (0, 0)}

    back = _migrate(BEFORE)
    Job = back.get_model("labeling", "Job")
    restored = Job.objects.get(pk=done.pk)
    assert (restored.items_labeled, restored.answers_total) == (5, 12)


LABEL_CLASSES_BEFORE = [("labeling", "0025_p20text_item_text")]
LABEL_CLASSES_AFTER = [("labeling", "0026_qa_labels_label_classes")]


def test_label_classes_are_backfilled_for_types_whose_value_holds_several(monkeypatch):
    old = _migrate(LABEL_CLASSES_BEFORE)
    User = old.get_model("labeling", "User")
    Team = old.get_model("labeling", "Team")
    Job = old.get_model("labeling", "Job")
    Item = old.get_model("labeling", "Item")
    Label = old.get_model("labeling", "ConsolidatedLabel")
    pm = User.objects.create(username="pm-classes", role="manager")
    team = Team.objects.create(name="classes team")

    def job(task_type, labels):
        return Job.objects.create(
            name=task_type, created_by=pm, task_type=task_type, labels=labels, team=team
        )

    def labeled(job, value, label=""):
        item = Item.objects.create(job=job, data="{}", status="labeled")
        Label.objects.create(
            item=item, job=job, value=value, label=label, confidence=1.0, method="m"
        )
        return item.pk

    boxes = job("image-bounding-box", ["car", "person"])
    box = {"left": 1, "top": 1, "width": 5, "height": 5, "confidence": 1.0}
    two_cars = labeled(boxes, {"boxes": [{"label": "car", **box}, {"label": "car", **box}]})
    car_person = labeled(boxes, {"boxes": [{"label": "car", **box}, {"label": "person", **box}]})
    labeled(boxes, {"boxes": []})
    labeled(boxes, "not a value")  # a value of the wrong shape holds no label
    multi = job("text-classification-multilabel", ["a", "b"])
    a_b = labeled(multi, {"labels": ["a", "b"], "class_ids": [0, 1]}, label="a,b")
    spans = job("text-entity-recognition", ["PER", "LOC"])
    loc = labeled(spans, {"entities": [{"label": "LOC", "startOffset": 0, "endOffset": 3}]})
    single = job("text-classification", ["pos", "neg"])
    labeled(single, {"label": "pos", "class_id": 0}, label="pos")
    # Batched: several batches per job.
    monkeypatch.setattr(
        import_module("labeling.migrations.0026_qa_labels_label_classes"), "BACKFILL_BATCH", 1
    )

    new = _migrate(LABEL_CLASSES_AFTER)
    Class = new.get_model("labeling", "ConsolidatedLabelClass")
    stored = sorted(Class.objects.values_list("job_id", "label", "item_id"))
    assert stored == sorted(
        [
            (boxes.pk, "car", two_cars),
            (boxes.pk, "car", car_person),
            (boxes.pk, "person", car_person),
            (multi.pk, "a", a_b),
            (multi.pk, "b", a_b),
            (spans.pk, "LOC", loc),
        ]
    )
    assert not Class.objects.filter(job_id=single.pk).exists()


FIRST_LABEL_BEFORE = [("labeling", "0026_qa_labels_label_classes")]
FIRST_LABEL_AFTER = [("labeling", "0027_qa_items_first_label_class")]


def test_each_values_first_label_is_marked(monkeypatch):
    old = _migrate(FIRST_LABEL_BEFORE)
    User = old.get_model("labeling", "User")
    Team = old.get_model("labeling", "Team")
    Job = old.get_model("labeling", "Job")
    Item = old.get_model("labeling", "Item")
    Label = old.get_model("labeling", "ConsolidatedLabel")
    Class = old.get_model("labeling", "ConsolidatedLabelClass")
    pm = User.objects.create(username="pm-first", role="manager")
    team = Team.objects.create(name="first team")
    job = Job.objects.create(
        name="multi",
        created_by=pm,
        task_type="text-classification-multilabel",
        labels=["B", "a", "b"],
        team=team,
    )

    def labeled(*labels):
        item = Item.objects.create(job=job, data="{}", status="labeled")
        label = Label.objects.create(
            item=item, job=job, value={"labels": list(labels)}, confidence=1.0, method="m"
        )
        for name in labels:  # stored in the order given, not sorted
            Class.objects.create(consolidated=label, item=item, job=job, label=name)
        return item.pk

    b_a, lower_b, none = labeled("b", "a"), labeled("b", "B"), labeled()
    single = Job.objects.create(
        name="single", created_by=pm, task_type="text-classification", labels=["x"], team=team
    )
    single_item = Item.objects.create(job=single, data="{}", status="labeled")
    Label.objects.create(
        item=single_item, job=single, value={"label": "x"}, label="x", confidence=1, method="m"
    )
    monkeypatch.setattr(
        import_module("labeling.migrations.0027_qa_items_first_label_class"), "BACKFILL_BATCH", 1
    )

    new = _migrate(FIRST_LABEL_AFTER)
    Class = new.get_model("labeling", "ConsolidatedLabelClass")
    firsts = sorted(Class.objects.filter(first=True).values_list("item_id", "label"))
    # A value without a label gets its one row, the empty label; a single-label job none.
    assert firsts == sorted([(b_a, "a"), (lower_b, "B"), (none, "")])
    assert Class.objects.filter(first=False).count() == 2
    assert not Class.objects.filter(job_id=single.pk).exists()
