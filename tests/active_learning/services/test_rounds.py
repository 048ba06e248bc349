"""A round trains on human labels, picks the threshold on the held-out slice, auto-labels what
clears it and reorders the human queue; run twice it labels nothing twice."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from active_learning.models import AutoLabel, HeldOutItem, ModelArtifact, TrainingRound
from active_learning.services.priorities import UNCERTAINTY_SCALE, VALIDATION_PRIORITY
from active_learning.services.rounds import TrainingLease, round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from labeling.models import ConsolidatedLabel, Item
from labeling.selectors import job_progress
from labeling.services.jobs import job_start
from labeling.states import ItemStatus
from tests.active_learning.conftest import CLASSES, humans_label, synthetic_texts, truth_of
from tests.conftest import import_lines


def _loop_on(job, manager, **values):
    defaults = {"validation_size": 90, "round_every": 30, "min_training_labels": 20}
    return auto_labeling_enable(job=job, by=manager, seed=1, **{**defaults, **values})


def _consistent(job) -> None:
    """The job's counters agree with its rows, and no item has two labels."""
    job.refresh_from_db()
    labels = ConsolidatedLabel.objects.filter(job=job).count()
    assert job_progress(job_id=job.pk).items_labeled == labels
    assert Item.objects.filter(job=job, status=ItemStatus.LABELED).count() == labels
    assert labels <= job.items_total


@pytest.mark.django_db
def test_the_validation_slice_is_random_and_first_in_the_queue(text_job, manager, labeler):
    job = text_job(300)
    _loop_on(job, manager)
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    assert len(held_out) == 90
    first = Item.objects.filter(job=job).order_by("-priority", "id")[:90]
    assert {item.pk for item in first} == held_out
    # Drawn at random, not the first 90 imported.
    assert held_out != set(
        Item.objects.filter(job=job).order_by("id")[:90].values_list("pk", flat=True)
    )
    assert min(item.priority for item in first) >= VALIDATION_PRIORITY


@pytest.mark.django_db
def test_a_round_auto_labels_what_clears_the_threshold(text_job, manager, labeler):
    job = text_job(600)
    _loop_on(job, manager, validation_size=150)
    assert humans_label(job, labeler, 250) == 250
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.LABELS)
    assert queued is not None and queued.human_labels == 250
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert done.validation_size == 150
    assert done.threshold is not None and done.lower_bound >= 0.95
    assert done.auto_labeled > 0
    artifact = ModelArtifact.objects.get(pk=done.artifact_id)
    assert (Path(django_settings.MEDIA_ROOT) / artifact.path).is_file()
    assert artifact.training_size == 100 and artifact.threshold == done.threshold
    assert artifact.training_seconds > 0 and artifact.metrics["validation_accuracy"] > 0.8

    machine = ConsolidatedLabel.objects.filter(job=job, human_annotated=False)
    assert machine.count() == done.auto_labeled == done.items_auto
    assert all(label.confidence >= done.threshold for label in machine)
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    assert not held_out & set(machine.values_list("item_id", flat=True))
    right = sum(truth_of(label.item_id) == label.label for label in machine)
    assert right / machine.count() >= 0.95
    _consistent(job)

    waiting = Item.objects.filter(job=job, status=ItemStatus.OPEN).exclude(pk__in=held_out)
    assert done.reprioritized == waiting.count()


@pytest.mark.django_db
def test_the_least_certain_items_go_first_to_humans(text_job, manager, labeler):
    job = text_job(300)
    config = _loop_on(job, manager, strategy="least_confidence")
    config.stopped_reason = "auto-labels off for this test"
    config.save()
    humans_label(job, labeler, 130)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert done.auto_labeled == 0 and done.message == "auto-labels off for this test"
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    waiting = Item.objects.filter(job=job, status=ItemStatus.OPEN).exclude(pk__in=held_out)
    assert done.reprioritized == waiting.count() == 170
    # Least confidence: priority = (1 - top probability) on the scale, recomputed here.
    learner = pickle.loads((Path(django_settings.MEDIA_ROOT) / done.artifact.path).read_bytes())
    rows = list(waiting.order_by("id").values_list("data", "priority"))
    top = learner.predict_proba([json.loads(data)["source"] for data, _ in rows]).max(axis=1)
    expected = np.rint((1 - top) * UNCERTAINTY_SCALE)
    assert np.abs(expected - np.array([p for _, p in rows])).max() <= 1
    first = Item.objects.filter(job=job, status=ItemStatus.OPEN).order_by("-priority", "id")
    ranked = [item for item in first if item.pk not in held_out]
    assert ranked[0].priority == max(p for _, p in rows)


@pytest.mark.django_db
def test_a_strategy_that_reads_the_context_gets_the_next_batch_round_and_job(
    text_job, manager, labeler, monkeypatch
):
    from active_learning.strategies.batch_mix import MARGIN_MIX

    job = text_job(300)
    _loop_on(job, manager, strategy="margin_mix")
    humans_label(job, labeler, 130)
    seen = []
    original = type(MARGIN_MIX).uncertainty

    def spy(self, probabilities, context=None):
        seen.append(context)
        return original(self, probabilities, context)

    monkeypatch.setattr(type(MARGIN_MIX), "uncertainty", spy)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    # round_every 30, or 0.2 × the 130 labels the round had: 30.
    assert [(c.batch_size, c.round_number, c.seed) for c in seen] == [(30, 1, job.pk)]
    held_out = set(HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True))
    waiting = Item.objects.filter(job=job, status=ItemStatus.OPEN).exclude(pk__in=held_out)
    priorities = list(waiting.order_by("id").values_list("priority", flat=True))
    assert len(set(priorities)) == len(priorities)  # a total order: ranks as scores


@pytest.mark.django_db
def test_a_round_run_twice_does_not_label_twice(text_job, manager, labeler):
    job = text_job(450)
    _loop_on(job, manager)
    humans_label(job, labeler, 200)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    labeled = ConsolidatedLabel.objects.filter(job=job).count()
    history = TrainingRound.objects.get(pk=queued.pk).history.count()
    # The same task delivered again (a redelivery after a lost ack): nothing happens.
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    assert ConsolidatedLabel.objects.filter(job=job).count() == labeled
    assert TrainingRound.objects.get(pk=queued.pk).history.count() == history
    assert AutoLabel.objects.filter(job=job).count() == labeled - 200
    # A second round on the same labels only looks at items still open.
    again = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=again.pk) == RoundStatus.DONE
    assert (
        AutoLabel.objects.filter(job=job).count()
        == ConsolidatedLabel.objects.filter(job=job, human_annotated=False).count()
    )
    _consistent(job)


@pytest.mark.django_db
def test_one_training_per_job_the_lease_makes_the_other_wait(text_job, manager, labeler):
    job = text_job(300)
    _loop_on(job, manager)
    humans_label(job, labeler, 120)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    other = TrainingLease(job.pk)
    assert other.take()
    assert round_run(round_id=queued.pk) == "busy"
    assert TrainingRound.objects.get(pk=queued.pk).status == RoundStatus.QUEUED
    other.release()
    assert round_run(round_id=queued.pk) == RoundStatus.DONE


@pytest.mark.django_db
def test_rounds_are_debounced_by_the_count_of_new_labels(text_job, manager, labeler):
    job = text_job(300)
    _loop_on(job, manager, round_every=40)
    humans_label(job, labeler, 39)
    assert round_request(job_id=job.pk, trigger=RoundTrigger.LABELS) is None
    humans_label(job, labeler, 1)
    first = round_request(job_id=job.pk, trigger=RoundTrigger.LABELS)
    assert first is not None
    # While one is pending no other is queued, whoever asks.
    assert round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL) is None
    round_run(round_id=first.pk)
    assert round_request(job_id=job.pk, trigger=RoundTrigger.LABELS) is None
    humans_label(job, labeler, 40)
    assert round_request(job_id=job.pk, trigger=RoundTrigger.LABELS).number == 2


@pytest.mark.django_db
def test_too_few_labels_skip_the_round_and_say_why(text_job, manager, labeler):
    job = text_job(200)
    _loop_on(job, manager, validation_size=20, min_training_labels=50)
    humans_label(job, labeler, 40)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.SKIPPED
    skipped = TrainingRound.objects.get(pk=queued.pk)
    assert "20 human labels" in skipped.message and "needs 50" in skipped.message
    assert ConsolidatedLabel.objects.filter(job=job, human_annotated=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_new_human_labels_start_rounds_on_the_worker(text_job, manager, labeler, settings):
    settings.ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS = 0
    job = text_job(450)
    _loop_on(job, manager, round_every=100)
    humans_label(job, labeler, 250)  # eager Celery: the checks run as the labels commit
    rounds = list(TrainingRound.objects.filter(job=job))
    assert [r.number for r in rounds] == [1, 2]
    assert all(r.status in (RoundStatus.DONE, RoundStatus.SKIPPED) for r in rounds)
    assert rounds[0].human_labels == 100 and rounds[1].human_labels == 200
    _consistent(job)


@pytest.mark.django_db
def test_a_loop_turned_on_before_the_import_draws_its_slice_at_the_first_check(
    make_job, manager, labeler
):
    job = make_job(items=0, start=False, labels=CLASSES)
    _loop_on(job, manager, validation_size=50)
    assert not HeldOutItem.objects.filter(job=job).exists()
    import_lines(job, manager, synthetic_texts(200))
    job = job_start(job=job, by=manager)
    assert round_request(job_id=job.pk, trigger=RoundTrigger.LABELS) is None  # no labels yet
    assert HeldOutItem.objects.filter(job=job).count() == 50


@pytest.mark.django_db
def test_later_rounds_judge_on_held_out_items_like_those_still_waiting(text_job, manager, labeler):
    job = text_job(900)
    _loop_on(job, manager, validation_size=150, validation_refill=True, target_accuracy=0.97)
    humans_label(job, labeler, 260)
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    queued.refresh_from_db()
    assert queued.auto_labeled > 0
    marked = HeldOutItem.objects.filter(job=job, would_label_round=queued.number)
    # Exactly the held-out items this model would have labeled are marked.
    assert marked.exists()
    confident = ModelArtifact.objects.get(pk=queued.artifact_id).threshold
    learner = pickle.loads((Path(django_settings.MEDIA_ROOT) / queued.artifact.path).read_bytes())
    texts = [json.loads(h.item.data)["source"] for h in marked.select_related("item")]
    assert (learner.predict_proba(texts).max(axis=1) >= confident - 1e-9).all()
    # The slice is back at its size with fresh random items from those still waiting.
    active = HeldOutItem.objects.filter(job=job, would_label_round__isnull=True)
    outside = Item.objects.filter(job=job, status=ItemStatus.OPEN, taken=0).exclude(
        pk__in=HeldOutItem.objects.filter(job=job).values("item_id")
    )
    assert active.count() == 150 or not outside.exists()
    assert active.count() > 150 - marked.count()  # some were drawn afresh
    fresh = Item.objects.filter(pk__in=active.values("item_id"), status=ItemStatus.OPEN)
    assert fresh.exists()
    assert all(item.priority >= VALIDATION_PRIORITY and item.taken == 0 for item in fresh)
    assert not AutoLabel.objects.filter(item_id__in=active.values("item_id")).exists()
