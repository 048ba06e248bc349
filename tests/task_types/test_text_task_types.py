"""The text task types end to end through the API: answers, consolidation and exports."""

import json

import pytest
from django.test import Client

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, SourceProblem
from labeling.task_ui.rendering import render_task
from tests.conftest import client_for, import_lines

pytestmark = pytest.mark.django_db

TEXT = "Ada Lovelace met Charles Babbage in London 🇬🇧 in 1833."
# Offsets in code points: the flag is two code points (four UTF-16 units).
ADA = {"label": "PER", "startOffset": 0, "endOffset": 12}
LONDON = {"label": "LOC", "startOffset": 36, "endOffset": 42}


def test_offsets_are_code_points():
    assert TEXT[ADA["startOffset"] : ADA["endOffset"]] == "Ada Lovelace"
    assert TEXT[LONDON["startOffset"] : LONDON["endOffset"]] == "London"
    assert TEXT[46:48] == "in"  # after the flag's two code points


def test_multilabel_answers_are_checked_and_ordered_by_the_jobs_labels():
    kind = get_task_type("text-classification-multilabel")
    parsed = kind.parse_answer({"topics": {"labels": ["c", "a"]}}, ["a", "b", "c"])
    assert parsed.answer == {"labels": ["a", "c"]}
    with pytest.raises(AnswerProblem, match="not one of"):
        kind.parse_answer({"labels": ["x"]}, ["a"])
    with pytest.raises(AnswerProblem):
        kind.parse_answer({"labels": "a"}, ["a"])


def test_ner_answers_refuse_overlap_unless_the_job_allows_it():
    answer = {
        "entities": {
            "entities": [
                {"label": "PER", "startOffset": 0, "endOffset": 12},
                {"label": "PER", "startOffset": 4, "endOffset": 12},
            ]
        }
    }
    with pytest.raises(AnswerProblem, match="overlap"):
        get_task_type("text-entity-recognition").parse_answer(answer, ["PER", "LOC"])
    parsed = get_task_type("text-entity-recognition-overlapping").parse_answer(
        answer, ["PER", "LOC"]
    )
    assert len(parsed.answer["entities"]) == 2
    with pytest.raises(AnswerProblem, match="integers"):
        get_task_type("text-entity-recognition").parse_answer(
            {"entities": [{"label": "PER", "startOffset": "0", "endOffset": 3}]}, ["PER"]
        )


def test_ner_items_may_be_pre_tokenized():
    kind = get_task_type("text-entity-recognition")
    kind.check_source({"source": "ab cd", "tokens": [[0, 2], [3, 5]]})
    with pytest.raises(SourceProblem, match="token 1"):
        kind.check_source({"source": "ab cd", "tokens": [[0, 2], [1, 9]]})


def _answer_all(job, workers, answers):
    for worker, answer in zip(workers, answers, strict=True):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)


def _export(job, manager, fmt):
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format={fmt}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def test_ner_job_consolidates_and_exports_in_every_format(make_job, make_labeler, manager, team):
    job = make_job(
        items=0,
        start=False,
        task_type="text-entity-recognition",
        labels=["PER", "LOC"],
        workers_per_item=3,
        label_attribute_name="ner",
    )
    import_lines(job, manager, [{"source": TEXT}])
    job_start(job=job, by=manager)
    workers = [make_labeler(f"w{i}") for i in range(3)]
    _answer_all(
        job,
        workers,
        [
            {"entities": {"entities": [ADA, LONDON]}},
            {"entities": {"entities": [ADA, {**LONDON, "label": "PER"}]}},
            {"entities": {"entities": [{**ADA, "endOffset": 3}, LONDON]}},
        ],
    )
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.value["entities"] == [ADA, LONDON]
    assert label.value["confidences"] == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    assert label.method == "span-clustering"

    (line,) = map(json.loads, _export(job, manager, "manifest").splitlines())
    assert line["ner"]["annotations"]["entities"] == [ADA, LONDON]
    assert line["ner"]["annotations"]["labels"] == [{"label": "PER"}, {"label": "LOC"}]
    metadata = line["ner-metadata"]
    assert metadata["type"] == "groundtruth/text-span"
    assert metadata["human-annotated"] == "yes"
    assert [e["confidence"] for e in metadata["entities"]] == [pytest.approx(2 / 3)] * 2

    conll = _export(job, manager, "conll2003").splitlines()
    assert conll[0] == "-DOCSTART- -X- -X- O"
    assert "Ada -X- _ B-PER" in conll
    assert "Lovelace -X- _ I-PER" in conll
    assert "London -X- _ B-LOC" in conll
    assert "met -X- _ O" in conll

    (document,) = map(json.loads, _export(job, manager, "spacy").splitlines())
    assert document["text"] == TEXT
    assert document["ents"] == [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 36, "end": 42, "label": "LOC"},
    ]


def test_multilabel_job_exports_the_managed_services_shape(make_job, make_labeler, manager):
    job = make_job(
        items=1,
        task_type="text-classification-multilabel",
        labels=["news", "sport", "tech"],
        workers_per_item=3,
        label_attribute_name="topics",
    )
    workers = [make_labeler(f"m{i}") for i in range(3)]
    _answer_all(
        job,
        workers,
        [
            {"topics": {"labels": ["news", "tech"]}},
            {"topics": {"labels": ["tech"]}},
            {"topics": {"labels": ["news", "sport", "tech"]}},
        ],
    )
    (line,) = map(json.loads, _export(job, manager, "manifest").splitlines())
    assert line["topics"] == [0, 2]
    metadata = line["topics-metadata"]
    assert metadata["type"] == "groundtruth/text-classification-multilabel"
    assert metadata["class-map"] == {"0": "news", "2": "tech"}
    assert metadata["confidence-map"] == {"0": pytest.approx(2 / 3), "2": 1.0}


def test_conll_is_refused_for_a_classification_job(make_job, manager):
    job = make_job(items=1)
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=conll2003")
    assert response.status_code == 400
    assert "entity recognition" in response.json()["error"]["message"]


def test_spans_past_the_end_of_the_text_are_left_out_of_consolidation():
    kind = get_task_type("text-entity-recognition")
    answers = [
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 3}]},
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 3}]},
        {"entities": [{"label": "PER", "startOffset": 90, "endOffset": 99}]},
    ]
    result = kind.consolidate_answers(answers, ["PER"], item_data={"source": "Ada is here"})
    assert result.value["entities"] == [{"label": "PER", "startOffset": 0, "endOffset": 3}]
    assert result.value["confidences"] == [pytest.approx(2 / 3)]


def test_a_span_past_the_end_of_the_text_is_refused_at_submit_and_the_lease_stays(
    make_job, make_labeler, manager
):
    job = make_job(items=0, start=False, task_type="text-entity-recognition", labels=["PER"])
    import_lines(job, manager, [{"source": "Ada is here"}])
    job_start(job=job, by=manager)
    worker = make_labeler("w-past-end")
    lease = assignment_claim(job=job, worker=worker)
    too_far = {"entities": [{"label": "PER", "startOffset": 7, "endOffset": 12}]}
    with pytest.raises(ValidationFailed, match="past the end of the text, which has 11"):
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=too_far)
    lease.refresh_from_db()
    assert lease.status == "leased"
    fits = {"entities": [{"label": "PER", "startOffset": 7, "endOffset": 11}]}
    annotation = annotation_submit(assignment_id=lease.pk, worker=worker, answer=fits)
    assert annotation.answer == {"entities": [{"label": "PER", "startOffset": 7, "endOffset": 11}]}


def test_custom_answers_consolidate_by_the_most_common_whole_answer():
    kind = get_task_type("custom")
    answers = [{"a": {"label": "Dog"}}, {"a": {"label": "Cat"}}, {"a": {"label": "Dog"}}]
    result = kind.consolidate_answers(answers, [], item_data={})
    assert result.value == {"a": {"label": "Dog"}}
    assert result.confidence == pytest.approx(2 / 3)


def test_the_dashboard_of_an_ner_job_offers_its_exports(make_job, manager):
    job = make_job(items=1, task_type="text-entity-recognition", labels=["PER"])
    client = Client()
    client.force_login(manager)
    page = client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "format=conll2003" in page
    assert "format=spacy" in page


def test_the_builtin_ner_ui_keeps_carriage_returns_and_tokens(make_job, manager, labeler):
    job = make_job(
        items=0, start=False, task_type="text-entity-recognition-overlapping", labels=["PER"]
    )
    import_lines(job, manager, [{"source": "Ada\r\nLovelace <3", "tokens": [[0, 3], [5, 13]]}])
    job_start(job=job, by=manager)
    html = render_task(assignment_claim(job=job, worker=labeler))
    assert 'text="Ada&#13;\nLovelace &lt;3"' in html
    assert "tokens='[[0, 3], [5, 13]]'" in html
    assert " allow-overlap>" in html
