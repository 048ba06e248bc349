"""Automated labeling of boxes and masks end to end, through the services, on rendered shapes
whose right answer is known: humans label the validation slice and a training set, a round
trains, proves the mean IoU on the slice and auto-labels; the labels meet the target against
the truth, export as the task type's own manifest with human-annotated "no", and an audit
reports their mean IoU against the promise. Nothing is auto-labeled when the bound cannot be
met. Tiny images and training keep it to seconds."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from active_learning.models import Audit, AutoLabel, ModelArtifact, TrainingRound
from active_learning.services.audits import audit_evaluate, audit_start
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import AuditStatus, RoundStatus, RoundTrigger
from active_learning.synthetic_shapes import render_shapes
from labeling.consolidation.masks import mask_iou
from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.task_types.auto_labeling import BoxesTarget
from labeling.task_types.image_segmentation import load_label_map
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import manifest

SIZE = 32


@pytest.fixture
def shapes_settings(settings):
    settings.ACTIVE_LEARNING_SHAPES_IMAGE_SIZE = SIZE
    settings.ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN = 6000
    return settings


def _shapes_job(make_job, manager, settings, *, task_type: str, count: int):
    rng = np.random.default_rng(7)
    folder = settings.MEDIA_ROOT / "shapes"
    folder.mkdir()
    lines = []
    for index in range(count):
        image = render_shapes(rng, size=SIZE, most=1, noise=25.0, classes=1)
        Image.fromarray(image.pixels).save(folder / f"{index}.png")
        Image.fromarray(image.label_map).save(folder / f"{index}-truth.png")
        lines.append({"source-ref": f"shapes/{index}.png", "truth": image.boxes})
    job = make_job(items=0, start=False, labels=["rectangle"], task_type=task_type)
    assert import_lines(job, manager, lines).status == "succeeded"
    return job_start(job=job, by=manager)


def _truth_boxes(item_id: int) -> list:
    return json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))["truth"]


def _truth_value(item_id: int) -> dict:
    boxes = [
        {"label": "rectangle", "class_id": c, "left": x, "top": y, "width": w, "height": h}
        for c, x, y, w, h in _truth_boxes(item_id)
    ]
    return {"image_size": {"width": SIZE, "height": SIZE}, "boxes": boxes}


def _box_answer(item_id: int) -> dict:
    boxes = [
        {"label": "rectangle", "left": x, "top": y, "width": w, "height": h}
        for _, x, y, w, h in _truth_boxes(item_id)
    ]
    size = {"width": SIZE, "height": SIZE}
    return {"annotatedResult": {"boundingBoxes": boxes, "inputImageProperties": size}}


def _truth_map(settings, item_id: int) -> np.ndarray:
    ref = json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))["source-ref"]
    return np.asarray(Image.open(settings.MEDIA_ROOT / ref.replace(".png", "-truth.png")))


def _mask_answer(settings, item_id: int) -> dict:
    rgb = np.full((SIZE, SIZE, 3), 255, np.uint8)
    rgb[_truth_map(settings, item_id) == 1] = (230, 25, 75)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": SIZE, "height": SIZE},
            "labelMappings": {"rectangle": {"color": "#e6194b"}},
            "labeledImage": {"pngImageData": base64.b64encode(buffer.getvalue()).decode()},
        }
    }


def _humans_answer(job, worker, count: int, answer_for) -> int:
    done = 0
    for _ in range(count):
        lease = assignment_claim(job=job, worker=worker)
        if lease is None:
            break
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer_for(lease.item_id))
        done += 1
    return done


@pytest.mark.django_db
def test_boxes_are_auto_labeled_above_the_proven_mean_iou_and_audited(
    make_job, manager, labeler, shapes_settings, client
):
    job = _shapes_job(make_job, manager, shapes_settings, task_type="image-bounding-box", count=420)
    auto_labeling_enable(
        job=job, by=manager, seed=1, validation_size=120, round_every=1000, min_training_labels=40
    )
    assert _humans_answer(job, labeler, 280, _box_answer) == 280
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    artifact = ModelArtifact.objects.get(pk=done.artifact_id)
    assert artifact.kind == "image-detector"
    assert artifact.metrics["metric"] == "mean-iou"
    assert artifact.metrics["target_mean_iou"] == 0.6
    assert done.threshold is not None and done.lower_bound >= 0.6
    machine = list(ConsolidatedLabel.objects.filter(job=job, human_annotated=False))
    assert len(machine) == done.auto_labeled > 20
    target = BoxesTarget()
    against_truth = [target.score(label.value, _truth_value(label.item_id)) for label in machine]
    assert np.mean(against_truth) >= 0.6
    assert all(label.confidence >= done.threshold for label in machine)

    lines = {line["source-ref"]: line for line in manifest(job, manager)}
    attribute = job.label_attribute_name
    auto_ref = json.loads(Item.objects.values_list("data", flat=True).get(pk=machine[0].item_id))
    auto_line = lines[auto_ref["source-ref"]]
    assert auto_line[f"{attribute}-metadata"]["human-annotated"] == "no"
    assert auto_line[f"{attribute}-metadata"]["type"] == "groundtruth/object-detection"
    assert auto_line[attribute]["image_size"] == [{"width": SIZE, "height": SIZE, "depth": 3}]

    audit = audit_start(job=job, by=manager, sample_size=15, seed=3)
    assert audit.metric == "mean-iou" and audit.promised_accuracy == 0.6
    assert _humans_answer(job, labeler, 15, _box_answer) == 15
    audit = audit_evaluate(audit_id=audit.pk)
    assert audit.answered == 15
    audited = AutoLabel.objects.filter(audit=audit)
    expected = np.mean([target.score(a.value, _truth_value(a.item_id)) for a in audited])
    assert audit.measured_mean_iou == pytest.approx(expected)
    assert audit.iou_lower_bound <= audit.measured_mean_iou
    assert audit.status == (AuditStatus.PASSED if expected >= 0.6 else AuditStatus.FAILED)
    assert "mean IoU" in audit.message and "promised 0.6" in audit.message

    client.force_login(manager)
    page = client.get(f"/console/jobs/{job.pk}/auto-labeling").content.decode()
    assert "Validation mean IoU" in page and "target 0.6" in page
    assert f"{audit.measured_mean_iou:.3f}</span> mean IoU" in page
    api = client_for(manager).get(f"/api/v1/jobs/{job.pk}/auto-labeling/audits").json()
    listed = api["results"][0] if isinstance(api, dict) else api[0]
    assert listed["metric"] == "mean-iou"
    assert listed["measured_mean_iou"] == pytest.approx(audit.measured_mean_iou)


@pytest.mark.django_db
def test_nothing_is_auto_labeled_when_the_validation_slice_cannot_prove_the_target(
    make_job, manager, labeler, shapes_settings
):
    job = _shapes_job(make_job, manager, shapes_settings, task_type="image-bounding-box", count=160)
    auto_labeling_enable(
        job=job, by=manager, seed=1, validation_size=8, round_every=1000, min_training_labels=40
    )
    assert _humans_answer(job, labeler, 108, _box_answer) == 108
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert done.threshold is None and done.auto_labeled == 0
    assert "validation mean IoU" in done.message and "of the 0.6 needed" in done.message
    assert not ConsolidatedLabel.objects.filter(job=job, human_annotated=False).exists()
    assert not Audit.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_masks_are_auto_labeled_above_the_proven_mean_iou(
    make_job, manager, labeler, shapes_settings
):
    job = _shapes_job(
        make_job, manager, shapes_settings, task_type="image-semantic-segmentation", count=400
    )
    auto_labeling_enable(
        job=job, by=manager, seed=2, validation_size=120, round_every=1000, min_training_labels=40
    )
    answered = _humans_answer(job, labeler, 280, lambda i: _mask_answer(shapes_settings, i))
    assert answered == 280
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert ModelArtifact.objects.get(pk=done.artifact_id).kind == "image-segmenter"
    assert done.threshold is not None and done.lower_bound >= 0.7
    machine = list(ConsolidatedLabel.objects.filter(job=job, human_annotated=False))
    assert len(machine) == done.auto_labeled > 0
    ious = [
        mask_iou(
            load_label_map(label.value["index_ref"]), _truth_map(shapes_settings, label.item_id), 1
        )
        for label in machine
    ]
    assert np.mean(ious) >= 0.7
    name = f"{job.label_attribute_name}-ref"  # the managed service's mask attribute
    line = next(
        line for line in manifest(job, manager)
        if line[f"{name}-metadata"]["human-annotated"] == "no"
    )  # fmt: skip
    assert line[name].startswith("label-maps/auto-")
    assert line[f"{name}-metadata"]["type"] == "groundtruth/semantic-segmentation"


@pytest.mark.django_db
def test_the_settings_of_box_and_mask_jobs_are_checked(make_job, manager):
    boxes = make_job(items=0, labels=["car"], task_type="image-bounding-box", start=False)
    config = auto_labeling_enable(job=boxes, by=manager, target_mean_iou=0.75)
    assert config.target_mean_iou == 0.75
    for values, field in (
        ({"learner": "image-segmenter"}, "learner"),
        ({"learner": "image-cnn"}, "learner"),
        ({"target_mean_iou": 1.5}, "target_mean_iou"),
        ({"preannotate": True}, "preannotate"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            auto_labeling_enable(job=boxes, by=manager, **values)
        assert refused.value.details["field"] == field
    text = make_job(items=3, start=False)
    with pytest.raises(ValidationFailed) as refused:
        auto_labeling_enable(job=text, by=manager, target_mean_iou=0.6)
    assert refused.value.details["field"] == "target_mean_iou"
    with pytest.raises(ValidationFailed):
        auto_labeling_enable(job=text, by=manager, learner="image-detector")
