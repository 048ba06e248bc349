"""Self-training: a round trains on the job's human labels and on earlier rounds' auto-labels,
never on the validation slice, when the setting turns it on (it is off by default)."""

import pytest

from active_learning.models import HeldOutItem, ModelArtifact, TrainingRound
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from labeling.models import ConsolidatedLabel
from tests.active_learning.conftest import humans_label


def _two_rounds(job, manager, labeler) -> tuple[TrainingRound, TrainingRound]:
    auto_labeling_enable(
        job=job,
        by=manager,
        seed=1,
        validation_size=150,
        round_every=30,
        min_training_labels=20,
        target_accuracy=0.97,
    )
    humans_label(job, labeler, 260)
    first = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=first.pk) == RoundStatus.DONE
    assert humans_label(job, labeler, 30) == 30
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    if queued is not None:  # else the 30 new labels started the round already
        assert round_run(round_id=queued.pk) == RoundStatus.DONE
    first.refresh_from_db()
    second = TrainingRound.objects.filter(job=job).order_by("-number").first()
    assert second.number > first.number and second.status == RoundStatus.DONE
    return first, second


@pytest.mark.django_db
def test_the_next_round_trains_on_the_auto_labels_too(text_job, manager, labeler, settings):
    settings.ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS = True
    job = text_job(2000)
    first, second = _two_rounds(job, manager, labeler)
    assert first.auto_labeled > 0
    # The second round trained on more labels than humans gave (validation slice included):
    # the first round's auto-labels; never on the held-out items still judging thresholds.
    trained_on = ModelArtifact.objects.get(pk=second.artifact_id).training_size
    judging = HeldOutItem.objects.filter(job=job, would_label_round__isnull=True).count()
    assert trained_on > second.human_labels
    assert trained_on <= second.human_labels - judging + first.auto_labeled + 1e-9


@pytest.mark.django_db
def test_without_self_training_only_human_labels_train(text_job, manager, labeler, settings):
    settings.ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS = False
    job = text_job(2000)
    first, second = _two_rounds(job, manager, labeler)
    assert first.auto_labeled > 0
    trained_on = ModelArtifact.objects.get(pk=second.artifact_id).training_size
    humans = ConsolidatedLabel.objects.filter(job=job, human_annotated=True).count()
    assert trained_on < humans
