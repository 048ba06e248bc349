"""Multi-label automated labeling: the set a model predicts, how sure it is of the whole set,
the threshold on exact-set accuracy, and the loop end to end on text and on images whose
right answers are known."""

import json
import random

import numpy as np
import pytest
from PIL import Image

from active_learning.labelspace import LabelSpace, label_key
from active_learning.learners.cnn import SmallCnn
from active_learning.learners.linear import LinearModel
from active_learning.learners.text import TfidfLogistic
from active_learning.models import AutoLabel, HeldOutItem, TrainingRound
from active_learning.services.audits import audit_evaluate, audit_start
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import AuditStatus, RoundStatus, RoundTrigger
from active_learning.threshold import select_threshold
from labeling.models import ConsolidatedLabel, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.states import ItemStatus
from tests.conftest import import_lines

TOPICS = ["sports", "politics", "music", "science"]
_VOCABULARY = {
    "sports": ["goal", "match", "coach", "league", "striker", "referee", "season", "keeper"],
    "politics": ["vote", "senate", "minister", "ballot", "policy", "party", "mayor", "law"],
    "music": ["guitar", "album", "chorus", "concert", "drummer", "melody", "band", "tour"],
    "science": ["atom", "theory", "neuron", "galaxy", "enzyme", "physics", "lab", "quantum"],
}
_FILLER = ["the", "a", "this", "week", "new", "big", "said", "after", "about", "city"]


def synthetic_sets(count: int, seed: int = 0) -> list[dict]:
    """Texts about one or two topics (their set), in words of those topics and filler."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        chosen = sorted(rng.sample(range(len(TOPICS)), rng.choice([1, 1, 2])))
        words = [
            rng.choice(_VOCABULARY[TOPICS[rng.choice(chosen)]])
            if rng.random() < 0.7
            else rng.choice(_FILLER)
            for _ in range(12)
        ]
        lines.append({"source": " ".join(words), "truth": [TOPICS[k] for k in chosen]})
    return lines


# --- the label space ------------------------------------------------------------------------


def test_the_set_confidence_is_the_product_of_each_labels_certainty():
    space = LabelSpace.for_job("text-classification-multilabel", TOPICS)
    p = np.array([[0.9, 0.2, 0.6, 0.05], [0.5, 0.5, 0.5, 0.5]])
    assert space.multilabel
    assert space.confidence(p) == pytest.approx([0.9 * 0.8 * 0.6 * 0.95, 0.5**4])
    assert space.predicted(p)[0].tolist() == [True, False, True, False]
    truth = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])
    assert space.hits(p, truth).tolist() == [True, False]  # the exact set, not label by label
    assert space.text(space.predicted(p)[0]) == "sports,music"
    value = space.value(p[0])
    assert value["labels"] == ["sports", "music"] and value["class_ids"] == [0, 2]
    assert value["confidence_map"] == {"0": 0.9, "2": 0.6}
    assert value["probabilities"]["politics"] == 0.2
    assert label_key("", value) == label_key("sports,music", {"class_ids": [2, 0]}) == (0, 2)
    assert space.target("", {"labels": ["music", "sports"]}).tolist() == [1, 0, 1, 0]
    assert space.target("", {"class_ids": []}).tolist() == [0, 0, 0, 0]  # an empty set
    single = LabelSpace.for_job("text-classification", TOPICS)
    assert not single.multilabel and single.target("music", {}) == 2


def test_the_threshold_on_calibrated_set_confidences_keeps_its_promise():
    """Labels drawn independently with the model's own probabilities: P(set right) is exactly
    the product, so the items above the chosen threshold are right at least as often as
    promised on fresh draws (most of the time: the bound has level 95%)."""
    rng = np.random.default_rng(3)
    space = LabelSpace.for_job("image-classification-multilabel", list("abcde"))

    def draw(count):
        p = rng.beta(0.1, 0.1, size=(count, 5))  # mostly sure, sometimes not
        truth = (rng.random((count, 5)) < p).astype(np.int8)
        return p, truth

    kept = 0
    for _ in range(20):
        p, truth = draw(600)
        choice = select_threshold(space.confidence(p), space.hits(p, truth), target=0.9)
        assert choice.threshold is not None and choice.lower_bound >= 0.9
        fresh_p, fresh_truth = draw(20_000)
        above = space.confidence(fresh_p) >= choice.threshold
        kept += space.hits(fresh_p[above], fresh_truth[above]).mean() >= 0.9
    assert kept >= 17


# --- one-vs-rest learners -------------------------------------------------------------------


def test_one_vs_rest_gives_each_label_its_own_probability():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 3))
    targets = np.stack(
        [features[:, 0] > 0, features[:, 1] > 0.5, np.zeros(400, bool)], axis=1
    ).astype(np.int8)
    model = LinearModel(regularization=10.0)
    model.fit(features, targets, 3)
    p = model.predict_proba(features, 400)
    assert p.shape == (400, 3)
    assert ((p[:, :2] >= 0.5) == targets[:, :2].astype(bool)).mean() > 0.95
    # A label no training item has: its smoothed frequency, never a crash.
    assert np.allclose(p[:, 2], 0.5 / 401)


def test_tf_idf_one_vs_rest_recovers_the_sets_of_held_out_texts():
    lines = synthetic_sets(500, seed=1)
    space = LabelSpace.for_job("text-classification-multilabel", TOPICS)
    texts = [line["source"] for line in lines]
    truth = space.targets([space.target("", {"labels": line["truth"]}) for line in lines])
    learner = TfidfLogistic()
    learner.prepare(texts)
    learner.fit(texts[:300], truth[:300], len(TOPICS), lambda: None)
    p = learner.predict_proba(texts[300:])
    assert p.shape == (200, len(TOPICS))
    assert space.hits(p, truth[300:]).mean() > 0.85


def _blob_image(present: list[int], rng: random.Random) -> np.ndarray:
    """A 32×32 picture with a red, green and/or blue square somewhere: its set of colours."""
    image = np.full((32, 32, 3), 235, np.uint8)
    for colour in present:
        top, left = rng.randrange(0, 22), rng.randrange(0, 22)
        image[top : top + 10, left : left + 10] = 30
        image[top : top + 10, left : left + 10, colour] = 230
    return image


def test_the_cnn_with_sigmoid_outputs_learns_sets(settings):
    settings.ACTIVE_LEARNING_CNN_SAMPLES_SEEN = 6000
    rng = random.Random(0)
    sets = [sorted(rng.sample(range(3), rng.choice([1, 2, 3]))) for _ in range(400)]
    images = np.stack([_blob_image(s, rng) for s in sets])
    targets = np.zeros((400, 3), np.int8)
    for row, chosen in enumerate(sets):
        targets[row, chosen] = 1
    learner = SmallCnn()
    learner.fit(images[:300], targets[:300], 3, lambda: None)
    assert learner.multilabel
    p = learner.predict_proba(images[300:])
    assert p.shape == (100, 3) and not np.allclose(p.sum(axis=1), 1.0)  # not a softmax
    space = LabelSpace.for_job("image-classification-multilabel", ["red", "green", "blue"])
    assert space.hits(p, targets[300:]).mean() > 0.8


# --- the loop, end to end -------------------------------------------------------------------


def _truth(item_id: int) -> list[str]:
    return json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))["truth"]


def _answer_all(job, worker, answer_of, limit: int = 10_000) -> int:
    done = 0
    for _ in range(limit):
        lease = assignment_claim(job=job, worker=worker)
        if lease is None:
            return done
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer_of(lease.item_id))
        done += 1
    return done


@pytest.mark.django_db
def test_text_multilabel_end_to_end(make_job, manager, labeler):
    job = make_job(items=0, start=False, labels=TOPICS, task_type="text-classification-multilabel")
    assert import_lines(job, manager, synthetic_sets(700, seed=2)).status == "succeeded"
    job = job_start(job=job, by=manager)
    auto_labeling_enable(
        job=job, by=manager, seed=1, validation_size=200, round_every=1000, min_training_labels=40
    )
    for item_id in HeldOutItem.objects.filter(job=job).values_list("item_id", flat=True):
        assert Item.objects.get(pk=item_id).priority >= 2_000_000
    # Humans label the validation slice and 200 more, answering with the true set.
    for _ in range(400):
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(
            assignment_id=lease.pk, worker=labeler, answer={"labels": _truth(lease.item_id)}
        )
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert done.threshold is not None and done.lower_bound >= 0.95 and done.auto_labeled > 0

    machine = list(ConsolidatedLabel.objects.filter(job=job, human_annotated=False))
    assert len(machine) == done.auto_labeled
    right = 0
    for label in machine:
        value = label.value
        assert set(value) == {"labels", "class_ids", "confidence_map", "probabilities"}
        assert value["labels"] == [TOPICS[k] for k in value["class_ids"]]
        assert all(value["probabilities"][TOPICS[k]] >= 0.5 for k in value["class_ids"])
        assert label.confidence >= done.threshold
        assert label.label == ",".join(value["labels"])
        right += value["labels"] == _truth(label.item_id)
    assert right / len(machine) >= 0.95  # exact sets
    stored = AutoLabel.objects.get(item_id=machine[0].item_id)
    assert stored.value["class_ids"] == machine[0].value["class_ids"]

    # The human queue: least sure of its whole set first.
    waiting = list(
        Item.objects.filter(job=job, status=ItemStatus.OPEN, priority__lt=2_000_000)
        .order_by("-priority")
        .values_list("priority", flat=True)
    )
    assert waiting and waiting[0] > waiting[-1]

    # An audit compares exact sets: humans agreeing with the model pass it.
    audit = audit_start(job=job, by=manager, sample_size=20, seed=0)
    _answer_all(job, labeler, lambda item_id: {"labels": _truth(item_id)}, limit=20)
    audit = audit_evaluate(audit_id=audit.pk)
    assert audit.answered == 20 and audit.agreed >= 18
    assert audit.status == AuditStatus.PASSED


@pytest.mark.django_db
def test_image_multilabel_end_to_end(make_job, manager, labeler, settings):
    settings.ACTIVE_LEARNING_CNN_SAMPLES_SEEN = 8000
    colours = ["red", "green", "blue"]
    rng = random.Random(5)
    media = settings.MEDIA_ROOT / "blobs"
    media.mkdir()
    lines = []
    for index in range(500):
        chosen = sorted(rng.sample(range(3), rng.choice([1, 2, 3])))
        Image.fromarray(_blob_image(chosen, rng)).save(media / f"{index}.png")
        lines.append({"source-ref": f"blobs/{index}.png", "truth": [colours[k] for k in chosen]})
    job = make_job(
        items=0, start=False, labels=colours, task_type="image-classification-multilabel"
    )
    assert import_lines(job, manager, lines).status == "succeeded"
    job = job_start(job=job, by=manager)
    auto_labeling_enable(
        job=job, by=manager, seed=1, validation_size=120, round_every=1000, min_training_labels=40
    )
    for _ in range(300):
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(
            assignment_id=lease.pk,
            worker=labeler,
            answer={"categories": {"labels": _truth(lease.item_id)}},
        )
    queued = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL)
    assert round_run(round_id=queued.pk) == RoundStatus.DONE
    done = TrainingRound.objects.get(pk=queued.pk)
    assert done.validation_accuracy > 0.8  # exact sets on the held-out slice
    machine = list(ConsolidatedLabel.objects.filter(job=job, human_annotated=False))
    assert len(machine) == done.auto_labeled
    assert done.threshold is not None and done.lower_bound >= 0.95 and machine
    right = sum(label.value["labels"] == _truth(label.item_id) for label in machine)
    assert right / len(machine) >= 0.95
    for label in machine:
        assert set(label.value) == {"labels", "class_ids", "confidence_map", "probabilities"}
        assert label.confidence >= done.threshold
