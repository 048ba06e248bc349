"""Fixtures of the active-learning tests: a text job whose true labels are in its items, and
simulated humans who answer through the labeling services."""

import json
import random

import pytest

from labeling.models import Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import import_lines

CLASSES = ["cat", "dog", "bird"]
_WORDS = {
    "cat": [
        "purr",
        "whiskers",
        "meow",
        "litter",
        "kitten",
        "tabby",
        "claws",
        "hiss",
        "yarn",
        "mouse",
    ],
    "dog": [
        "bark",
        "leash",
        "puppy",
        "fetch",
        "bone",
        "kennel",
        "wag",
        "howl",
        "collar",
        "retriever",
    ],
    "bird": [
        "wing",
        "feather",
        "nest",
        "beak",
        "chirp",
        "flock",
        "egg",
        "perch",
        "sparrow",
        "tweet",
    ],
}
_SHARED = [
    "the",
    "a",
    "quite",
    "very",
    "small",
    "big",
    "today",
    "garden",
    "house",
    "noisy",
    "happy",
    "old",
]


def synthetic_texts(count: int, seed: int = 0) -> list[dict[str, str]]:
    """Texts whose class shows in most of their words; a few are mixed on purpose."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        truth = CLASSES[index % len(CLASSES)]
        other = CLASSES[(index + 1) % len(CLASSES)]
        mixed = rng.random() < 0.05
        words = [
            rng.choice(_WORDS[other] if mixed and rng.random() < 0.5 else _WORDS[truth])
            if rng.random() < 0.7
            else rng.choice(_SHARED)
            for _ in range(8)
        ]
        lines.append({"source": " ".join(words), "truth": truth})
    return lines


@pytest.fixture
def text_job(make_job, manager):
    def make(count: int = 300, seed: int = 0, **fields):
        job = make_job(items=0, start=False, labels=CLASSES, **fields)
        run = import_lines(job, manager, synthetic_texts(count, seed))
        assert run.status == "succeeded", run.errors
        return job_start(job=job, by=manager)

    return make


def truth_of(item_id: int) -> str:
    return json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))["truth"]


def humans_label(job, worker, count: int, *, wrong: bool = False, answer_for=None) -> int:
    """``worker`` answers the next ``count`` tasks of the queue with the true label (or a
    wrong one, or ``answer_for(item_id)``); returns how many they answered."""
    done = 0
    for _ in range(count):
        assignment = assignment_claim(job=job, worker=worker)
        if assignment is None:
            break
        truth = truth_of(assignment.item_id)
        label = CLASSES[(CLASSES.index(truth) + 1) % len(CLASSES)] if wrong else truth
        if answer_for is not None:
            label = answer_for(assignment.item_id)
        annotation_submit(assignment_id=assignment.pk, worker=worker, answer={"label": label})
        done += 1
    return done
