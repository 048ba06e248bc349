"""The LLM types' exports a trainer reads, loaded back with the ``datasets`` library
(``load_dataset("json", data_files=...)``), and rankings weighted by worker reliability."""

import json

import numpy as np
import pytest

from labeling.consolidation.ranking import aggregate_ranks, ranking_fit
from labeling.models import ConsolidatedLabel, Item
from labeling.states import ItemStatus
from tests.task_types.helpers import export, image_job, work

RANKING_LINES = [
    {"prompt": f"Prompt {i}?", "responses": ["good", "fair", "poor"]} for i in range(6)
]
TRUTH = [1, 2, 3]
REVERSED = [3, 2, 1]


def test_reliability_weights_outvote_unreliable_rankers():
    rng = np.random.default_rng(4)
    groups, group_workers = [], []
    for item in range(40):
        # Workers 0–2 reliable, 3 an adversary (reversed orders), 4 and 5 spammers (random);
        # on the first item the spammers' orders happen to pull the plain mean away.
        spam = [[3, 2, 1], [3, 1, 2]] if item == 0 else [rng.permutation(3) + 1 for _ in "ab"]
        rows = [TRUTH, TRUTH, TRUTH, REVERSED, *spam]
        groups.append(np.array(rows, dtype=np.float64))
        group_workers.append(np.arange(6))
    fit = ranking_fit(groups, group_workers, n_workers=6)
    assert fit.weight[:3] == pytest.approx([fit.weight[0]] * 3) and fit.weight[0] > 1.0
    assert fit.weight[3] == pytest.approx(0.05)  # floored
    assert max(fit.weight[4], fit.weight[5]) < fit.weight[0] / 2
    # Unweighted, the adversary and the spammers pull the order apart; weighted, it is right.
    ranks, _ = aggregate_ranks(groups[0])
    assert ranks != TRUTH
    ranks, confidence = aggregate_ranks(groups[0], fit.weight)
    assert ranks == TRUTH and confidence > 0.9


@pytest.mark.django_db
def test_a_ranking_job_weighs_its_rankers(manager, team, make_labeler):
    job = image_job(
        manager, team, task_type="llm-ranking", labels=["quality"], lines=RANKING_LINES, workers=3
    )
    workers = [make_labeler(n) for n in ("ann", "ben", "eve")]
    honest = [{"ranks": {"quality": TRUTH}}] * len(RANKING_LINES)
    # Eve reverses every order: her weight ends at the floor.
    eve = [{"ranks": {"quality": REVERSED}}] * len(RANKING_LINES)
    work(job, workers, [honest, honest, eve])
    labels = list(ConsolidatedLabel.objects.filter(job=job).order_by("item_id"))
    assert {label.method for label in labels} == {"rank-weighted-borda"}
    assert all(label.value["ranks"]["quality"] == TRUTH for label in labels)
    # Two agreeing answers against a reversed one: more than the unweighted 2/3 agreement.
    assert labels[-1].confidence > 0.9


def _job_exports(manager, team, make_labeler):
    """One small finished job of each LLM type and its trainer export's bytes."""
    ann = make_labeler("ann")
    made = {}
    job = image_job(
        manager, team, task_type="llm-ranking", labels=["quality"], lines=RANKING_LINES[:2]
    )
    work(job, [ann], [[{"ranks": {"quality": TRUTH}}, {"ranks": {"quality": [1, 1, 2]}}]])
    made["rankings"] = export(job, manager, "rankings")
    job = image_job(
        manager,
        team,
        task_type="llm-rubric-rating",
        labels=["helpful", "safe"],
        lines=[{"prompt": "Hi?", "response": "Hello."}],
    )
    work(job, [ann], [[{"ratings": {"helpful": 4, "safe": 5}, "rationale": "ok"}]])
    made["ratings"] = export(job, manager, "ratings")
    job = image_job(
        manager, team, task_type="llm-qa-writing", labels=["fact"], lines=[{"context": "Sky."}]
    )
    pairs = [{"question": "What?", "answer": "Sky.", "tags": ["fact"]}]
    work(job, [ann], [[{"questionAnswerPairs": pairs}]])
    made["qa-pairs"] = export(job, manager, "qa-pairs")
    pair_line = {"prompt": "P", "response_a": "a", "response_b": "b"}
    job = image_job(
        manager,
        team,
        task_type="llm-pairwise-preference",
        labels=["A", "B", "tie"],
        lines=[pair_line],
    )
    work(job, [ann], [[{"preference": "B", "strength": 2}]])
    made["preferences"] = export(job, manager, "preferences")
    job = image_job(
        manager, team, task_type="llm-side-by-side", labels=["style"], lines=[pair_line]
    )
    choice = {"style": {"preference": "A"}, "overall": {"preference": "B", "strength": 3}}
    work(job, [ann], [[{"dimensions": choice}]])
    made["side-by-side"] = export(job, manager, "preferences")
    return made


@pytest.mark.django_db
def test_the_exports_are_json_lines_of_the_documented_shapes(manager, team, make_labeler):
    made = _job_exports(manager, team, make_labeler)
    rows = {
        name: [json.loads(r) for r in body.decode().splitlines()] for name, body in made.items()
    }
    assert rows["rankings"] == [
        {
            "prompt": "Prompt 0?",
            "responses": ["good", "fair", "poor"],
            "ranking": TRUTH,
            "dimension": "quality",
        },
        {
            "prompt": "Prompt 1?",
            "responses": ["good", "fair", "poor"],
            "ranking": [1, 1, 2],
            "dimension": "quality",
        },
    ]
    assert rows["ratings"] == [
        {"prompt": "Hi?", "response": "Hello.", "scores": {"helpful": 4, "safe": 5}}
    ]
    assert rows["qa-pairs"] == [
        {"context": "Sky.", "question": "What?", "answer": "Sky.", "tags": ["fact"]}
    ]
    assert rows["preferences"] == [{"prompt": "P", "chosen": "b", "rejected": "a"}]
    assert rows["side-by-side"] == [
        {"prompt": "P", "chosen": "a", "rejected": "b", "dimension": "style"},
        {"prompt": "P", "chosen": "b", "rejected": "a", "dimension": "overall"},
    ]


@pytest.mark.django_db
def test_each_export_loads_with_the_datasets_library(
    manager, team, make_labeler, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # local files only: nothing is downloaded
    datasets = pytest.importorskip(
        "datasets", reason="the datasets library is not installed (pip install '.[dev]')"
    )
    made = _job_exports(manager, team, make_labeler)
    columns = {
        "rankings": {"prompt", "responses", "ranking", "dimension"},
        "ratings": {"prompt", "response", "scores"},
        "qa-pairs": {"context", "question", "answer", "tags"},
        "preferences": {"prompt", "chosen", "rejected"},
        "side-by-side": {"prompt", "chosen", "rejected", "dimension"},
    }
    for name, body in made.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(body)
        loaded = datasets.load_dataset(
            "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
        )
        assert set(loaded.column_names) == columns[name], name
        assert loaded.num_rows == len(body.splitlines()), name
    preferences = datasets.load_dataset(
        "json",
        data_files=str(tmp_path / "preferences.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert preferences[0] == {"prompt": "P", "chosen": "b", "rejected": "a"}
    ratings = datasets.load_dataset(
        "json",
        data_files=str(tmp_path / "ratings.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert ratings[0]["scores"] == {"helpful": 4, "safe": 5}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_type", "labels", "line", "answer", "fmt"),
    [
        ("llm-ranking", ["q"], {"prompt": "P", "responses": ["a", "b"]}, {"ranks": {"q": [2, 1]}},
         "rankings"),
        ("llm-rubric-rating", ["q"], {"prompt": "P", "response": "R"}, {"ratings": {"q": 3}},
         "ratings"),
        ("llm-qa-writing", ["t"], {"context": "C"},
         {"pairs": [{"question": "Q", "answer": "A"}]}, "qa-pairs"),
    ],
)  # fmt: skip
def test_a_stored_value_of_the_wrong_shape_is_left_out_of_the_export(
    manager, team, make_labeler, task_type, labels, line, answer, fmt
):
    job = image_job(manager, team, task_type=task_type, labels=labels, lines=[line, line])
    good, bad = Item.objects.filter(job=job).order_by("id")
    work(job, [make_labeler("ann")], [[answer]])
    ConsolidatedLabel.objects.create(
        item=bad, job=job, value={"ranks": "x", "ratings": 3, "pairs": 7}, label="", confidence=0.5
    )
    Item.objects.filter(pk=bad.pk).update(status=ItemStatus.LABELED)
    rows = export(job, manager, fmt).decode().splitlines()
    assert len(rows) == 1 and json.loads(rows[0])
