"""A model's judgment on an LLM item, posted as a machine label shaped as a worker's answer:
stored as the value the task type's consolidation writes for it (so exports read it as a
human one), refused with the reason when it does not fit, and taken back for an audit."""

import json
import logging

import pytest

from labeling.models import ConsolidatedLabel, Item
from labeling.services.machine_labels import (
    MachineLabel,
    items_label_by_model,
    items_unlabel_machine,
)
from tests.task_types.helpers import export, image_job

pytestmark = pytest.mark.django_db

PAIRS = [
    {"prompt": "2 + 2?", "response_a": "4", "response_b": "5"},
    {"prompt": "Capital?", "response_a": "Lyon", "response_b": "Paris"},
    {"prompt": "Hi?", "response_a": "Hi", "response_b": "Hello"},
]


def test_pairwise_judgments_become_labels_and_exports(manager, team, caplog):
    job = image_job(
        manager, team, task_type="llm-pairwise-preference", labels=["A", "B", "tie"], lines=PAIRS
    )
    first, second, third = Item.objects.filter(job=job).order_by("id")
    judgments = [
        MachineLabel(first.pk, "", {"preference": "A", "strength": 3}, 0.97),
        MachineLabel(second.pk, "", {"judge": {"preference": "B", "strength": 2}}, 0.91),
        MachineLabel(third.pk, "", {"preference": "C"}, 0.99),
    ]
    with caplog.at_level(logging.WARNING, logger="labeling.services.machine_labels"):
        labeled = items_label_by_model(job_id=job.pk, labels=judgments, method="judge-1")
    assert labeled == [first.pk, second.pk]
    assert f"item={third.pk}" in caplog.text and "preference" in caplog.text
    label = ConsolidatedLabel.objects.get(item=second)
    assert (label.label, label.human_annotated, label.confidence) == ("B", False, 0.91)
    assert label.value["preference"] == "B" and label.value["strength"] == 2
    pairs = [json.loads(r) for r in export(job, manager, "preferences").decode().splitlines()]
    assert pairs == [
        {"prompt": "2 + 2?", "chosen": "4", "rejected": "5"},
        {"prompt": "Capital?", "chosen": "Paris", "rejected": "Lyon"},
    ]
    # An audit takes a model's label back: the item returns to the human queue.
    assert items_unlabel_machine(job_id=job.pk, item_ids=[first.pk]) == [first.pk]
    first.refresh_from_db()
    assert first.status == "open"


def test_ranking_and_rubric_judgments_are_checked_against_the_item(manager, team):
    ranking = image_job(
        manager,
        team,
        task_type="llm-ranking",
        labels=["quality"],
        lines=[{"prompt": "P", "responses": ["a", "b", "c"]}] * 2,
    )
    good, short = Item.objects.filter(job=ranking).order_by("id")
    labeled = items_label_by_model(
        job_id=ranking.pk,
        labels=[
            MachineLabel(good.pk, "", {"ranks": {"quality": [2, 1, 3]}}, 0.8),
            MachineLabel(short.pk, "", {"ranks": {"quality": [2, 1]}}, 0.8),  # 2 of 3 ranks
        ],
        method="judge-1",
    )
    assert labeled == [good.pk]
    assert ConsolidatedLabel.objects.get(item=good).value["ranks"] == {"quality": [2, 1, 3]}
    rubric = image_job(
        manager,
        team,
        task_type="llm-rubric-rating",
        labels=["helpful"],
        lines=[{"prompt": "P", "response": "R"}],
    )
    (item,) = Item.objects.filter(job=rubric)
    judgment = MachineLabel(item.pk, "", {"ratings": {"helpful": 4}, "rationale": "fine"}, 0.7)
    assert items_label_by_model(job_id=rubric.pk, labels=[judgment], method="judge-1") == [item.pk]
    assert ConsolidatedLabel.objects.get(item=item).value["ratings"] == {"helpful": 4}
