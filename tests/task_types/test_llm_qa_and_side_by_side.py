"""Question–answer writing and side-by-side comparison: the answers checked, jobs worked by
several labelers, consolidation (pairs collected and de-duplicated with their provenance;
Crowd-BT per dimension) and the exports parsed back."""

import json

import pytest

from labeling.consolidation.qa_pairs import collect_pairs, normalised_question
from labeling.models import ConsolidatedLabel
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, SourceProblem
from labeling.task_ui.rendering import render_task
from tests.task_types.helpers import export, image_job, manifest, work

QA = get_task_type("llm-qa-writing")
SBS = get_task_type("llm-side-by-side")
CONTEXT = "# Paris\n\nParis is the capital of **France**. It has 2.1 million people. <b>x</b>"


def test_questions_are_normalised_and_merged_with_their_provenance():
    assert normalised_question("  What is  the CAPITAL of France?? ") == (
        "what is the capital of france"
    )
    pairs, merged = collect_pairs(
        [
            [{"question": "What is the capital?", "answer": "Paris", "tags": ["fact"]}],
            [
                {"question": "what is the capital", "answer": "Paris.", "tags": ["easy"]},
                {"question": "How many people?", "answer": "2.1 million", "tags": []},
            ],
        ],
        [7, 9],
    )
    assert merged == 1
    assert [p["question"] for p in pairs] == ["What is the capital?", "How many people?"]
    assert pairs[0]["tags"] == ["fact", "easy"]
    assert pairs[0]["sources"] == [
        {"answer": 0, "pair": 0, "worker": 7, "text": "Paris"},
        {"answer": 1, "pair": 0, "worker": 9, "text": "Paris."},
    ]


def test_qa_items_and_answers_are_checked():
    QA.check_source({"context": "text", "min_questions": 2, "max_questions": 3})
    for bad in (
        {"context": " "},
        {"context": "t", "min_questions": 0},
        {"context": "t", "min_questions": 4, "max_questions": 2},
        {"context": "t", "max_questions": True},
    ):
        with pytest.raises(SourceProblem):
            QA.check_source(bad)
    element = {"qa": {"questionAnswerPairs": [{"question": " Q? ", "answer": "A", "tags": []}]}}
    assert QA.parse_answer(element, ["fact"]).answer == {
        "pairs": [{"question": "Q?", "answer": "A", "tags": []}]
    }
    for bad, message in (
        ({"questionAnswerPairs": []}, "at least one"),
        ({"questionAnswerPairs": [{"question": "Q", "answer": ""}]}, "needs its answer"),
        ({"questionAnswerPairs": [{"question": "Q", "answer": "A", "tags": ["x"]}]}, "not a"),
        ({"pairs": "no"}, "questionAnswerPairs"),
    ):
        with pytest.raises(AnswerProblem, match=message):
            QA.parse_answer(bad, ["fact"])
    one = {"pairs": [{"question": "Q", "answer": "A", "tags": []}]}
    with pytest.raises(AnswerProblem, match="2 to 3 pairs"):
        QA.check_answer_for_item(one, {"context": "t", "min_questions": 2, "max_questions": 3})


@pytest.mark.django_db
def test_a_qa_job_collects_the_pairs_and_exports_them(manager, team, make_labeler):
    lines = [{"context": CONTEXT, "min_questions": 1, "max_questions": 3}]
    job = image_job(
        manager, team, task_type="llm-qa-writing", labels=["fact", "number"], lines=lines, workers=2
    )
    ann, ben = make_labeler("ann"), make_labeler("ben")
    lease = assignment_claim(job=job, worker=ann)
    html = render_task(lease)
    assert "<crowd-question-answer-generation" in html and 'text-format="markdown"' in html
    assert 'min-questions="1" max-questions="3"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    answers = [
        [
            {
                "qa": {
                    "questionAnswerPairs": [
                        {"question": "What is the capital of France?", "answer": "Paris"},
                        {
                            "question": "How many people?",
                            "answer": "2.1 million",
                            "tags": ["number"],
                        },
                    ]
                }
            }
        ],
        [
            {
                "questionAnswerPairs": [
                    {
                        "question": "what is the capital of France",
                        "answer": "Paris",
                        "tags": ["fact"],
                    }
                ]
            }
        ],
    ]
    annotation_submit(assignment_id=lease.pk, worker=ann, answer=answers[0][0])
    work(job, [ben], answers[1:])
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.method == "qa-collect" and label.value["duplicates"] == 1
    capital, people = label.value["pairs"]
    assert capital["tags"] == ["fact"] and [s["worker"] for s in capital["sources"]] == [
        ann.pk,
        ben.pk,
    ]
    assert people["sources"][0]["worker"] == ann.pk
    rows = [json.loads(row) for row in export(job, manager, "qa-pairs").decode().splitlines()]
    assert rows == [
        {
            "context": CONTEXT,
            "question": "What is the capital of France?",
            "answer": "Paris",
            "tags": ["fact"],
        },
        {
            "context": CONTEXT,
            "question": "How many people?",
            "answer": "2.1 million",
            "tags": ["number"],
        },
    ]
    (line,) = manifest(job, manager)
    assert line[job.label_attribute_name][1]["question"] == "How many people?"
    assert line[f"{job.label_attribute_name}-metadata"]["duplicates"] == 1


def test_side_by_side_answers_are_checked():
    labels = ["helpful", "honest"]
    full = {
        "comparison": {
            "dimensions": {
                "helpful": {"preference": "A", "strength": 3},
                "honest": {"preference": "tie"},
                "overall": {"preference": "A", "strength": 2},
            },
            "rationale": "A answers.",
        }
    }
    parsed = SBS.parse_answer(full, labels)
    assert parsed.label == "A"
    assert parsed.answer["dimensions"]["honest"] == {"preference": "tie", "strength": 1}
    for bad, message in (
        ({"dimensions": {"helpful": {"preference": "A"}}}, "'honest' has no choice"),
        ({"dimensions": {"kind": "A"}}, "not a dimension"),
        (
            {"dimensions": {n: {"preference": "A", "strength": 5} for n in [*labels, "overall"]}},
            "strength",
        ),
        ({"dimensions": {n: "A" for n in [*labels, "overall"]}, "rationale": 3}, "rationale"),
    ):
        with pytest.raises(AnswerProblem, match=message):
            SBS.parse_answer(bad, labels)


@pytest.mark.django_db
def test_a_side_by_side_job_consolidates_per_dimension_and_exports_pairs(
    manager, team, make_labeler
):
    lines = [
        {
            "prompt": "Capital of France?",
            "response_a": "Paris.",
            "response_b": "Lyon.",
            "model_a": "m1",
        },
        {"prompt": "2 + 2?", "response_a": "5", "response_b": "4"},
    ]
    job = image_job(
        manager,
        team,
        task_type="llm-side-by-side",
        labels=["correct", "style"],
        lines=lines,
        workers=3,
    )
    truth = [
        {"correct": "A", "style": "tie", "overall": "A"},
        {"correct": "B", "style": "A", "overall": "B"},
    ]
    flip = {"A": "B", "B": "A", "tie": "tie"}

    def answer(item, honest):
        return {
            "dimensions": {
                name: {"preference": p if honest else flip[p], "strength": 2}
                for name, p in truth[item].items()
            },
            "rationale": "" if honest else "contrary",
        }

    workers = [make_labeler(n) for n in ("ann", "ben", "eve")]
    work(
        job,
        workers,
        [
            [answer(0, True), answer(1, True)],
            [answer(0, True), answer(1, True)],
            [answer(0, False), answer(1, False)],
        ],
    )
    by_prompt = {
        json.loads(c.item.data)["prompt"]: c for c in ConsolidatedLabel.objects.filter(job=job)
    }
    first = by_prompt["Capital of France?"]
    assert first.method == "crowd-bradley-terry" and first.label == "A"
    assert {n: d["preference"] for n, d in first.value["dimensions"].items()} == truth[0]
    assert first.value["dimensions"]["correct"]["votes"] == {"A": 2, "B": 1, "tie": 0}
    assert first.confidence == first.value["dimensions"]["overall"]["confidence"] > 2 / 3
    assert first.value["rationales"] == ["contrary"]
    rows = [json.loads(r) for r in export(job, manager, "preferences").decode().splitlines()]
    assert sorted((r["prompt"], r["dimension"], r["chosen"]) for r in rows) == [
        ("2 + 2?", "correct", "4"),
        ("2 + 2?", "overall", "4"),
        ("2 + 2?", "style", "5"),
        ("Capital of France?", "correct", "Paris."),
        ("Capital of France?", "overall", "Paris."),
    ]  # the style tie is no pair
    line = next(m for m in manifest(job, manager) if m["prompt"] == "2 + 2?")
    assert line[job.label_attribute_name] == truth[1]
    assert line[f"{job.label_attribute_name}-metadata"]["strength-map"]["overall"] == 2
