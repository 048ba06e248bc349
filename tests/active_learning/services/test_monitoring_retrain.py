"""Model-quality monitoring and automated labeling: retraining asked by a flow's alert trains
its dataset job's model and records the new version's validation metrics as its baseline;
the automated labels' accuracy over their audits is watched by the same detector."""

import pytest

from active_learning.models import AutoLabel, TrainingRound
from active_learning.selectors import auto_label_quality
from active_learning.services.audits import audit_start
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from tests.active_learning.conftest import CLASSES, humans_label
from workflows.models import ModelBaseline
from workflows.monitoring.services.retrain import retrain_request
from workflows.services.flows import flow_create


@pytest.mark.django_db(transaction=True)
def test_a_retrain_request_trains_the_dataset_jobs_model_and_records_its_baseline(
    text_job, manager, labeler, team
):
    job = text_job(150)
    auto_labeling_enable(
        job=job, by=manager, seed=1, validation_size=40, round_every=10_000, min_training_labels=20
    )
    humans_label(job, labeler, 70)
    flow = flow_create(
        created_by=manager,
        name="watched",
        team=team,
        task_type="text-classification",
        labels=list(job.labels),
        short_instructions="Check.",
        dataset_job=job,
    )
    before = TrainingRound.objects.filter(job=job).count()
    asked = retrain_request(flow=flow, reason="alert")
    assert asked["dataset_job"] == job.pk
    rounds = TrainingRound.objects.filter(job=job).order_by("number")
    assert rounds.count() == before + 1
    latest = rounds.last()
    assert (latest.trigger, latest.status) == (RoundTrigger.MANUAL, RoundStatus.DONE)
    baseline = ModelBaseline.objects.get(
        flow=flow, model_version=f"quorum-job-{job.pk}-round-{latest.number}"
    )
    assert baseline.source == "validation"
    assert baseline.accuracy == pytest.approx(latest.validation_accuracy)
    assert baseline.metrics["validation_size"] == latest.validation_size


@pytest.mark.django_db
def test_the_automated_labels_accuracy_over_their_audits(text_job, manager, labeler):
    job = text_job(300)
    auto_labeling_enable(
        job=job, by=manager, seed=2, validation_size=80, round_every=1000, min_training_labels=20
    )
    humans_label(job, labeler, 140)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    assert auto_label_quality(job_id=job.pk)["labels"] == 0
    audit = audit_start(job=job, by=manager, sample_size=30, seed=5)
    audited = dict(AutoLabel.objects.filter(audit=audit).values_list("item_id", "label"))
    # People disagree with every audited auto-label: far below the accuracy promised.
    humans_label(
        job,
        labeler,
        30,
        answer_for=lambda item_id: next(c for c in CLASSES if c != audited.get(item_id)),
    )
    quality = auto_label_quality(job_id=job.pk)
    assert quality["labels"] == len(audited) == 30
    assert quality["accuracy"] == 0.0 and quality["high"] < 0.15
    assert quality["promised_accuracy"] == audit.promised_accuracy
    assert quality["alert"] is not None and quality["alert"]["estimate"] == 0.0
