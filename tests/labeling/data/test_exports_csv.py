"""The CSV export's label and class_id columns for every kind of consolidated value."""

import csv
import io
import json

import pytest

from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _answer(job, worker, answer):
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)


def _csv_rows(job, manager) -> list[dict[str, str]]:
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_single_label_rows_keep_the_class_and_unlabelled_rows_stay_empty(
    make_job, labeler, manager
):
    job = make_job(items=2)
    _answer(job, labeler, {"label": "dog"})
    labelled, unlabelled = _csv_rows(job, manager)
    assert (labelled["source"], labelled["label"], labelled["class_id"]) == ("text 0", "dog", "1")
    assert labelled["human_annotated"] == "yes" and labelled["method"]
    assert [unlabelled[k] for k in ("label", "class_id", "confidence", "method")] == [""] * 4


def test_multi_label_rows_join_labels_and_class_ids_with_a_bar(make_job, labeler, manager):
    job = make_job(
        items=2,
        task_type="text-classification-multilabel",
        labels=["news", "sport", "tech"],
        label_attribute_name="topics",
    )
    _answer(job, labeler, {"topics": {"labels": ["tech", "news"]}})
    labelled, unlabelled = _csv_rows(job, manager)
    assert (labelled["label"], labelled["class_id"]) == ("news|tech", "0|2")
    assert (unlabelled["label"], unlabelled["class_id"]) == ("", "")


def test_image_multi_label_columns_are_the_same_shape():
    kind = get_task_type("image-classification-multilabel")
    value = {"labels": ["cat", "sky"], "class_ids": [0, 2], "confidence_map": {}}
    assert kind.csv_columns(value, ["cat", "dog", "sky"]) == ("cat|sky", "0|2")
    assert kind.csv_columns({"labels": [], "class_ids": []}, ["cat"]) == ("", "")


def test_ner_rows_hold_the_spans_as_json(make_job, labeler, manager):
    job = make_job(
        items=1,
        task_type="text-entity-recognition",
        labels=["PER", "LOC"],
        label_attribute_name="ner",
    )
    spans = [{"label": "PER", "startOffset": 0, "endOffset": 4}]
    _answer(job, labeler, {"entities": spans})
    (row,) = _csv_rows(job, manager)
    assert json.loads(row["label"]) == spans and row["class_id"] == ""
    assert row["label"] == '[{"label":"PER","startOffset":0,"endOffset":4}]'


def test_custom_rows_hold_the_consolidated_answer_as_compact_json(make_job, labeler, manager):
    job = make_job(items=1, task_type="custom", labels=["x"])
    answer = {"sentiment": {"label": "positive"}, "note": "très bien"}
    _answer(job, labeler, answer)
    (row,) = _csv_rows(job, manager)
    # Keys come sorted, whatever order the database keeps them in.
    assert row["label"] == '{"note":"très bien","sentiment":{"label":"positive"}}'
    assert json.loads(row["label"]) == answer and row["class_id"] == ""
