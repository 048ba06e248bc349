"""Drawing and span jobs through the real claim and submit path (issue 19): adaptive overlap
stops on agreement and asks more on disagreement, consolidation weights the stored
reliabilities, a job without them consolidates as before, and the re-estimation stores them."""

import base64
import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from labeling.models import ConsolidatedLabel, Item, JobQualityEstimate, WorkerQuality
from labeling.quality.math.shape_reliability import stop_similarity
from labeling.quality.services.reliability import job_quality_configure, job_quality_reestimate
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_create, job_start
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import boxes_answer, spans_answer, write_image

pytestmark = pytest.mark.django_db

LABELS = ["car", "person"]
CAR = ("car", 10, 10, 60, 40)
ELSEWHERE = ("car", 200, 120, 50, 50)


SEG_SIZE = (40, 30)
SEG_COLORS = {"sky": "#4363d8", "road": "#e6194b"}


def _segmentation(split: int) -> dict:
    """Sky above row ``split``, road from five rows below it, as the element submits it."""
    rgb = np.full((SEG_SIZE[1], SEG_SIZE[0], 3), 255, dtype=np.uint8)
    rgb[:split] = [0x43, 0x63, 0xD8]
    rgb[split + 5 :] = [0xE6, 0x19, 0x4B]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": SEG_SIZE[0], "height": SEG_SIZE[1]},
            "labelMappings": {label: {"color": color} for label, color in SEG_COLORS.items()},
            "labeledImage": {"pngImageData": base64.b64encode(buffer.getvalue()).decode()},
        }
    }


@pytest.fixture
def box_job(settings, manager, team):
    made = []

    def make(*, items=1, workers=5, adaptive=True):
        write_image(settings.MEDIA_ROOT, "street.png", size=(320, 200))
        job = job_create(
            created_by=manager, name=f"boxes-{len(made)}", task_type="image-bounding-box",
            labels=LABELS, team=team, workers_per_item=workers,
        )  # fmt: skip
        run = import_lines(
            job, manager, [{"source-ref": "street.png", "n": n} for n in range(items)]
        )
        assert run.status == "succeeded", run.errors
        job_start(job=job, by=manager)
        made.append(job)
        if adaptive:
            job = job_quality_configure(job=job, min_workers_per_item=2, target_confidence=0.9)
        return job

    return make


@pytest.fixture
def span_job(make_job):
    job = make_job(
        items=1, workers_per_item=4, task_type="text-entity-recognition", labels=LABELS
    )  # the item's text is "text 0"
    return job_quality_configure(job=job, min_workers_per_item=2, target_confidence=0.9)


def _answer(job, worker, answer):
    lease = assignment_claim(job=job, worker=worker)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)


def _item(job):
    return Item.objects.get(job=job)


@pytest.mark.parametrize(
    ("kind", "same"),
    [("boxes", boxes_answer(CAR)), ("spans", spans_answer(("car", 0, 4)))],
)
def test_agreeing_answers_stop_at_the_minimum(box_job, span_job, make_labeler, kind, same):
    job = box_job() if kind == "boxes" else span_job
    for name in ("w1", "w2"):
        _answer(job, make_labeler(name), same)
    item = _item(job)
    assert item.status == ItemStatus.LABELED
    label = ConsolidatedLabel.objects.get(item=item)
    assert label.answers_count == 2
    assert assignment_claim(job=job, worker=make_labeler("w3")) is None
    saved = client_for(job.created_by).get(f"/api/v1/jobs/{job.pk}/quality").json()
    assert saved["answers_saved"]["answers_saved"] == job.workers_per_item - 2


@pytest.mark.parametrize(
    ("kind", "first", "second"),
    [
        ("boxes", boxes_answer(CAR), boxes_answer(ELSEWHERE)),
        ("spans", spans_answer(("car", 0, 4)), spans_answer(("person", 5, 6))),
    ],
)
def test_disagreeing_answers_ask_one_more_up_to_the_maximum(
    box_job, span_job, make_labeler, kind, first, second
):
    job = box_job() if kind == "boxes" else span_job
    maximum = job.workers_per_item
    workers = [make_labeler(f"d{i}") for i in range(maximum + 1)]
    _answer(job, workers[0], first)
    _answer(job, workers[1], second)
    item = _item(job)
    assert item.status == ItemStatus.OPEN and item.extra_slots == 1
    for index in range(2, maximum):  # they keep disagreeing: one more slot each time
        _answer(job, workers[index], first if index % 2 else second)
    item = _item(job)
    assert item.answers == maximum and item.status == ItemStatus.LABELED
    assert assignment_claim(job=job, worker=workers[maximum]) is None


def test_the_stop_rule_reads_the_stored_reliabilities(box_job, make_labeler):
    """A low-reliability worker's disagreement does not hold up two reliable ones who agree;
    without the estimates, the same answers ask for a fourth."""
    sharp1, sharp2, careless = (make_labeler(n) for n in ("sharp1", "sharp2", "careless"))
    weighted, plain = box_job(items=1), box_job(items=1)
    for worker, reliability in ((sharp1, 0.9), (sharp2, 0.9), (careless, 0.1)):
        WorkerQuality.objects.create(job=weighted, worker=worker, shape_reliability=reliability)
    for job in (weighted, plain):
        _answer(job, sharp1, boxes_answer(CAR))
        _answer(job, careless, boxes_answer(ELSEWHERE))
        assert _item(job).status == ItemStatus.OPEN  # one reliable answer is not agreement
        _answer(job, sharp2, boxes_answer(CAR))
    assert _item(weighted).status == ItemStatus.LABELED
    assert _item(plain).status == ItemStatus.OPEN and _item(plain).extra_slots == 2


def test_consolidation_weights_the_stored_reliabilities(box_job, make_labeler):
    job = box_job(workers=3, adaptive=False)
    sharp, careless1, careless2 = (make_labeler(n) for n in ("s", "c1", "c2"))
    for worker, reliability in ((sharp, 0.9), (careless1, 0.2), (careless2, 0.2)):
        WorkerQuality.objects.create(job=job, worker=worker, shape_reliability=reliability)
    _answer(job, sharp, boxes_answer(CAR))
    _answer(job, careless1, boxes_answer(ELSEWHERE))
    _answer(job, careless2, boxes_answer(ELSEWHERE))
    (box,) = ConsolidatedLabel.objects.get(job=job).value["boxes"]
    assert (box["left"], box["top"], box["width"], box["height"]) == CAR[1:]
    assert box["confidence"] == pytest.approx(0.9 / (0.9 + 0.2 + 0.2), abs=1e-4)


def test_a_job_without_estimates_consolidates_exactly_as_before(box_job, make_labeler):
    job = box_job(workers=3, adaptive=False)
    answers = [
        boxes_answer(CAR),
        boxes_answer(ELSEWHERE),
        boxes_answer(ELSEWHERE, ("person", 5, 5, 20, 20)),
    ]
    for index, answer in enumerate(answers):
        _answer(job, make_labeler(f"p{index}"), answer)
    label = ConsolidatedLabel.objects.get(job=job)
    kind = get_task_type("image-bounding-box")
    parsed = [kind.parse_answer(a, LABELS).answer for a in answers]
    before = kind.consolidate_answers(parsed, LABELS)
    assert label.value == before.value and label.confidence == pytest.approx(before.confidence)
    (box,) = label.value["boxes"]
    assert (box["left"], box["top"]) == ELSEWHERE[1:3]  # two of three: the plain vote


def test_the_reestimation_stores_each_workers_reliability(box_job, make_labeler, manager):
    """Two careful workers and one who draws anywhere, on 8 items through the submit path;
    the re-estimation ranks them, and the quality API shows it."""
    job = box_job(items=8, workers=3, adaptive=False)
    careful1, careful2, random_worker = (make_labeler(n) for n in ("careful1", "careful2", "rnd"))
    for n in range(8):
        truth = ("car", 10 + 5 * n, 10, 60, 40)
        near = ("car", 12 + 5 * n, 11, 58, 40)
        odd = ("person", 250 - 10 * n, 140, 30, 30)
        _answer(job, careful1, boxes_answer(truth))
        _answer(job, careful2, boxes_answer(near))
        _answer(job, random_worker, boxes_answer(odd))
    job_quality_reestimate(job_id=job.pk)
    stored = dict(
        WorkerQuality.objects.filter(job=job).values_list("worker__username", "shape_reliability")
    )
    assert stored["careful1"] > 0.6 and stored["careful2"] > 0.6
    assert stored["rnd"] < 0.3
    estimate = JobQualityEstimate.objects.get(job=job)
    assert estimate.answers_used == 24 and estimate.workers == 3

    body = client_for(manager).get(f"/api/v1/jobs/{job.pk}/quality").json()
    by_name = {row["username"]: row for row in body["workers"]}
    assert by_name["rnd"]["shape_reliability"] == pytest.approx(stored["rnd"])
    assert body["shape_quality"] == {
        "weighted_consolidation": True,
        "workers_estimated": 3,
        "stop_similarity": stop_similarity("boxes-iou"),
    }


def test_classification_jobs_have_no_shape_quality(make_job, manager):
    job = make_job(items=1)
    body = client_for(manager).get(f"/api/v1/jobs/{job.pk}/quality").json()
    assert body["shape_quality"] is None


def test_the_quality_page_shows_the_reliability_section(box_job, make_labeler, manager):
    job = box_job(workers=3, adaptive=False)
    page = Client()
    page.force_login(manager)
    html = page.get(f"/console/jobs/{job.pk}/quality").content.decode()
    assert 'id="quality-shape-reliability"' in html and 'id="no-shape-reliability"' in html
    # Their hot spots are the least agreed items by similarity, not the classification table
    # ordered by a confidence that is 1.0 wherever every worker drew the shape.
    assert 'id="shape-agreement"' in html and 'id="quality-hot-spots"' not in html
    WorkerQuality.objects.create(job=job, worker=make_labeler("sharp"), shape_reliability=0.9)
    html = page.get(f"/console/jobs/{job.pk}/quality").content.decode()
    assert 'id="shape-reliability"' in html and "sharp" in html
    assert 'class="num">0.900</td>' in html  # reliability (and its weight, the same)


def test_a_segmentation_reestimation_ranks_workers_and_writes_no_file(
    settings, manager, team, make_labeler
):
    """Label maps: two workers near the true split, one far off, on 4 items; the
    leave-one-out votes run on the maps without writing PNG files."""
    write_image(settings.MEDIA_ROOT, "road.png", size=SEG_SIZE)
    job = job_create(
        created_by=manager, name="segments", task_type="image-semantic-segmentation",
        labels=list(SEG_COLORS), team=team, workers_per_item=3,
    )  # fmt: skip
    run = import_lines(job, manager, [{"source-ref": "road.png", "n": n} for n in range(4)])
    assert run.status == "succeeded", run.errors
    job_start(job=job, by=manager)
    workers = [make_labeler(name) for name in ("near1", "near2", "far")]
    for _ in range(4):
        for worker, split in zip(workers, (10, 11, 24), strict=True):
            _answer(job, worker, _segmentation(split))
    files = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*.png"))
    job_quality_reestimate(job_id=job.pk)
    assert sorted(p.name for p in settings.MEDIA_ROOT.rglob("*.png")) == files
    stored = dict(
        WorkerQuality.objects.filter(job=job).values_list("worker__username", "shape_reliability")
    )
    assert stored["near1"] > stored["far"] and stored["near2"] > stored["far"]
