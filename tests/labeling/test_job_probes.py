"""Job probes (issue 20): the questions a consolidation asks of its job, answered by the
submit's first statement on PostgreSQL and read on their own anywhere else."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import job_probes
from labeling.job_probes import job_probe, job_probes_known, register_job_probe
from labeling.models import (
    ChainLink,
    ConsolidatedLabel,
    ItemEvent,
    JobCounter,
    JobHooks,
    StreamSettings,
)
from labeling.selectors import job_progress
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db

HAS_ANSWERS = "test.has_answers"


@pytest.fixture
def answers_probe(monkeypatch):
    monkeypatch.setitem(
        job_probes._PROBES,
        HAS_ANSWERS,
        "EXISTS (SELECT 1 FROM labeling_annotation WHERE job_id = {job})",
    )


def _answer(job, worker, label):
    lease = assignment_claim(job=job, worker=worker)
    return annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def test_a_probe_must_refer_to_the_job():
    with pytest.raises(ValueError, match="must refer to the job's id as {job}"):
        register_job_probe("test.bad", "EXISTS (SELECT 1 FROM labeling_item)")


def test_a_probe_is_read_unless_its_answer_is_known_for_that_job(
    make_job, make_labeler, answers_probe
):
    job, other = make_job(items=1, workers_per_item=2), make_job(items=1)
    _answer(job, make_labeler("a"), "cat")
    assert job_probe(HAS_ANSWERS, job.pk) is True
    assert job_probe(HAS_ANSWERS, other.pk) is False
    with job_probes_known(job.pk, {HAS_ANSWERS: False}):
        with CaptureQueriesContext(connection) as queries:
            assert job_probe(HAS_ANSWERS, job.pk) is False  # known: no statement
        assert len(queries) == 0
        assert job_probe(HAS_ANSWERS, other.pk) is False  # another job: read
    assert job_probe(HAS_ANSWERS, job.pk) is True  # the known answers end with the block


def test_a_consolidating_submit_asks_the_pipelines_probes_only_in_its_first_statement(
    transactional_db, make_job, make_labeler
):  # a real commit: the chains ask after it
    job = make_job(items=2, workers_per_item=2)
    _answer(job, make_labeler("a"), "cat")
    worker = make_labeler("b")
    lease = assignment_claim(job=job, worker=worker)
    with CaptureQueriesContext(connection) as queries:
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    # the pipelines' (takeover, feed, chains), the flows' and automated labeling's questions
    tables = [model._meta.db_table for model in (JobHooks, StreamSettings, ChainLink)]
    tables += ["workflows_flow", "workflows_humanloop", "active_learning_autolabeling"]
    asking = [
        query["sql"]
        for query in queries.captured_queries
        if any(table in query["sql"] for table in tables)
    ]
    if connection.vendor == "postgresql":
        assert len(asking) == 1 and asking[0].lstrip().startswith("UPDATE labeling_assignment")
    else:  # SQLite reads each probe where it is asked: takeover, feed, chains, flow, automation
        assert len(asking) == 5
    label = ConsolidatedLabel.objects.get(job=job)
    assert ItemEvent.objects.filter(item_id=label.item_id, kind="consolidated").count() == 1
    progress = job_progress(job_id=job.pk)
    assert (progress.answers_total, progress.items_labeled) == (2, 1)
    assert any(query["sql"].startswith("COMMIT") for query in queries.captured_queries)
    assert sum(JobCounter.objects.filter(job=job).values_list("items_labeled", flat=True)) == 1


def test_a_labeled_item_is_counted_once_when_its_shard_is_missing(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=1)
    JobCounter.objects.filter(job=job).delete()
    _answer(job, make_labeler("a"), "dog")
    progress = job_progress(job_id=job.pk)
    assert (progress.answers_total, progress.items_labeled) == (1, 1)
    assert JobCounter.objects.filter(job=job).count() == 1
