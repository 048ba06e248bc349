"""Gold on drawing and span jobs: known answers, similarity scores, pausing bad workers."""

import numpy as np
import pytest

from labeling.errors import NotAllowed, ValidationFailed
from labeling.models import ConsolidatedLabel, GoldItem, WorkerQuality
from labeling.quality.math.shape_simulation import (
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.quality.services.gold import gold_item_mark, gold_items_add
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import write_image

pytestmark = pytest.mark.django_db

BOX_LABELS = ["car", "person", "tree"]
SPAN_LABELS = ["PER", "ORG"]
N_GOLD = 6


def _box_job(make_job, manager, settings, rng):
    job = make_job(items=0, start=False, task_type="image-bounding-box", labels=BOX_LABELS)
    write_image(settings.MEDIA_ROOT, "photo.png", size=(640, 480))
    truths = box_truth(rng, N_GOLD, BOX_LABELS)
    golds = gold_items_add(
        job=job,
        entries=[
            {"data": {"source-ref": "photo.png", "n": i}, "answer": truth.answer()}
            for i, truth in enumerate(truths)
        ],
    )
    ordinary = box_truth(rng, 6, BOX_LABELS)
    import_lines(job, manager, [{"source-ref": "photo.png", "k": i} for i in range(6)])
    job_start(job=job, by=manager)
    job.refresh_from_db()
    job = job_quality_configure(job=job, gold_rate=1.0, gold_min_answers=4, gold_pause_below=0.6)
    truth_of = {gold.item_id: truth for gold, truth in zip(golds, truths, strict=True)}
    return job, truth_of, ordinary[0]


def _span_job(make_job, manager, rng):
    job = make_job(items=0, start=False, task_type="text-entity-recognition", labels=SPAN_LABELS)
    truths = span_truth(rng, N_GOLD, SPAN_LABELS)
    golds = gold_items_add(
        job=job,
        entries=[{"data": {"source": t.text}, "answer": t.answer()} for t in truths],
    )
    ordinary = span_truth(rng, 6, SPAN_LABELS)
    import_lines(job, manager, [{"source": t.text} for t in ordinary])
    job_start(job=job, by=manager)
    job.refresh_from_db()
    job = job_quality_configure(job=job, gold_rate=1.0, gold_min_answers=4, gold_pause_below=0.6)
    truth_of = {gold.item_id: truth for gold, truth in zip(golds, truths, strict=True)}
    return job, truth_of, ordinary[0]


def _work(job, worker, truth_of, filler, answer_of, labels, rng, *, skill, random=False):
    """The worker answers every item it is leased until none is left or it is paused."""
    model = ShapeWorker(skill, random=random)
    for _ in range(40):
        try:
            lease = assignment_claim(job=job, worker=worker)
        except NotAllowed:
            return True
        if lease is None:
            return False
        truth = truth_of.get(lease.item_id, filler)
        answer = answer_of(rng, truth, model, labels)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
    raise AssertionError("the worker never ran out of items")


@pytest.mark.parametrize("kind", ["boxes", "spans"])
def test_a_bad_worker_is_paused_on_gold_and_a_good_one_is_not(
    kind, make_job, manager, make_labeler, settings
):
    rng = np.random.default_rng(5)
    if kind == "boxes":
        job, truth_of, filler = _box_job(make_job, manager, settings, rng)
        answer_of, labels = box_answer, BOX_LABELS
    else:
        job, truth_of, filler = _span_job(make_job, manager, rng)
        answer_of, labels = span_answer, SPAN_LABELS
    good, bad = make_labeler("good"), make_labeler("bad")
    assert not _work(job, good, truth_of, filler, answer_of, labels, rng, skill=0.95)
    assert _work(job, bad, truth_of, filler, answer_of, labels, rng, skill=0.0, random=True)
    good_row = WorkerQuality.objects.get(job=job, worker=good)
    bad_row = WorkerQuality.objects.get(job=job, worker=bad)
    assert good_row.gold_answers == N_GOLD and not good_row.paused
    assert good_row.gold_mean_score > 0.7 and good_row.gold_accuracy >= 0.8
    assert bad_row.paused and bad_row.gold_answers == 4  # paused at the job's minimum
    assert bad_row.gold_mean_score < 0.2
    assert "passed" in bad_row.paused_reason and "60%" in bad_row.paused_reason
    with pytest.raises(NotAllowed) as refused:
        assignment_claim(job=job, worker=bad)
    assert refused.value.code == "paused_on_job"


def test_a_perfect_a_shifted_and_an_empty_answer_score_as_expected(
    make_job, manager, make_labeler, settings
):
    job = make_job(items=0, start=False, task_type="image-bounding-box", labels=BOX_LABELS)
    write_image(settings.MEDIA_ROOT, "photo.png", size=(640, 480))
    known = {
        "annotatedResult": {
            "boundingBoxes": [{"label": "car", "left": 10, "top": 10, "width": 100, "height": 50}],
            "inputImageProperties": {"width": 640, "height": 480},
        }
    }
    gold_items_add(
        job=job,
        entries=[{"data": {"source-ref": "photo.png", "n": i}, "answer": known} for i in range(3)],
    )
    job.refresh_from_db()
    job_start(job=job, by=manager)
    job = job_quality_configure(job=job, gold_rate=1.0, gold_pass_similarity=0.3)
    shifted = {
        "annotatedResult": {
            **known["annotatedResult"],
            "boundingBoxes": [{"label": "car", "left": 60, "top": 10, "width": 100, "height": 50}],
        }
    }
    empty = {"annotatedResult": {**known["annotatedResult"], "boundingBoxes": []}}
    worker = make_labeler("w")
    for answer in (known, shifted, empty):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
    row = WorkerQuality.objects.get(job=job, worker=worker)
    # 1 + 1/3 + 0; at a pass mark of 0.3 the shifted box passes.
    assert row.gold_answers == 3
    assert row.gold_score_sum == pytest.approx(1 + 1 / 3)
    assert row.gold_correct == 2


def test_gold_import_checks_the_known_answer(make_job, manager, settings):
    job = make_job(items=0, start=False, task_type="image-bounding-box", labels=BOX_LABELS)
    with pytest.raises(ValidationFailed, match='gold item 1: .*needs its known answer in "answer"'):
        gold_items_add(job=job, entries=[{"data": {"source-ref": "a.png"}, "label": "car"}])
    bad = {
        "annotatedResult": {
            "boundingBoxes": [{"label": "boat", "left": 1, "top": 1, "width": 5, "height": 5}],
            "inputImageProperties": {"width": 64, "height": 64},
        }
    }
    with pytest.raises(ValidationFailed, match=r"gold item 1: answer: .*boundingBoxes\[0\]\.label"):
        gold_items_add(job=job, entries=[{"data": {"source-ref": "a.png"}, "answer": bad}])
    with pytest.raises(ValidationFailed, match="qualification test takes one-class answers"):
        gold_items_add(
            job=job,
            entries=[{"data": {"source-ref": "a.png"}, "answer": {}}],
            purpose="qualification",
        )
    assert not GoldItem.objects.filter(job=job).exists()


def test_spans_past_the_text_are_refused_and_the_answer_is_kept_apart(make_job, manager):
    job = make_job(items=0, start=False, task_type="text-entity-recognition", labels=SPAN_LABELS)
    text = "Ada Lovelace wrote notes."
    past = {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 99}]}
    with pytest.raises(ValidationFailed, match="runs past the end of the text"):
        gold_items_add(job=job, entries=[{"data": {"source": text}, "answer": past}])
    known = {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 12}]}
    (gold,) = gold_items_add(job=job, entries=[{"data": {"source": text}, "answer": known}])
    assert gold.answer == known
    assert "startOffset" not in gold.item.data  # the known answer never sits in the item
    label = ConsolidatedLabel.objects.get(item_id=gold.item_id)
    assert label.method == "gold" and label.value["entities"] == known["entities"]


def test_marking_an_item_gold_takes_a_whole_answer(make_job, manager):
    job = make_job(items=0, start=False, task_type="text-entity-recognition", labels=SPAN_LABELS)
    import_lines(job, manager, [{"source": "Grace Hopper at the Navy."}])
    item_id = job.items.get().pk
    with pytest.raises(ValidationFailed, match="needs its known answer"):
        gold_item_mark(job=job, item_id=item_id, label="PER")
    known = {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 12}]}
    gold = gold_item_mark(job=job, item_id=item_id, answer=known)
    assert gold.answer == known
    changed = {"entities": [{"label": "ORG", "startOffset": 20, "endOffset": 24}]}
    gold = gold_item_mark(job=job, item_id=item_id, answer=changed)
    assert gold.answer == changed


def test_bulk_marking_labeled_box_items_gold_keeps_their_boxes_as_known_answer(
    make_job, manager, make_labeler, settings, django_capture_on_commit_callbacks
):
    job = make_job(items=0, start=False, task_type="image-bounding-box", labels=BOX_LABELS)
    write_image(settings.MEDIA_ROOT, "photo.png", size=(640, 480))
    import_lines(job, manager, [{"source-ref": "photo.png", "n": i} for i in range(2)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    truth = box_truth(np.random.default_rng(4), 1, BOX_LABELS)[0]
    first = make_labeler("first")
    lease = assignment_claim(job=job, worker=first)
    annotation_submit(assignment_id=lease.pk, worker=first, answer=truth.answer())
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post(
            f"/api/v1/jobs/{job.pk}/bulk-actions",
            {"kind": "gold", "selection": {"ids": [lease.item_id]}, "params": {}},
            format="json",
        )
    assert response.status_code == 202, response.content
    gold = GoldItem.objects.get(job=job)
    assert sorted(b["left"] for b in gold.answer["boxes"]) == sorted(b["left"] for b in truth.boxes)
    # A later worker's answer to it is scored against those boxes.
    job_quality_configure(job=job, gold_rate=1.0)
    second = make_labeler("second")
    lease = assignment_claim(job=job, worker=second)
    while lease.item_id != gold.item_id:
        annotation_submit(assignment_id=lease.pk, worker=second, answer=truth.answer([]))
        lease = assignment_claim(job=job, worker=second)
    annotation_submit(assignment_id=lease.pk, worker=second, answer=truth.answer())
    row = WorkerQuality.objects.get(job=job, worker=second)
    assert (row.gold_answers, row.gold_correct, row.gold_score_sum) == (1, 1, 1.0)
