"""Migrations that move stored data keep every count."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("labeling", "0001_initial")]
AFTER = [("labeling", "0002_job_counter_shards")]


@pytest.fixture(autouse=True)
def _back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_job_counters_move_into_shard_zero_and_back():
    old = _migrate(BEFORE)
    User = old.get_model("labeling", "User")
    Team = old.get_model("labeling", "Team")
    Job = old.get_model("labeling", "Job")
    pm = User.objects.create(username="pm-migration", role="manager")
    team = Team.objects.create(name="migration team")
    common = {"task_type": "text-classification", "labels": ["a", "b"], "team": team}
    done = Job.objects.create(
        name="counted", created_by=pm, items_total=7, items_labeled=5, answers_total=12, **common
    )
    empty = Job.objects.create(name="empty", created_by=pm, **common)

    new = _migrate(AFTER)
    JobCounter = new.get_model("labeling", "JobCounter")
    shards = {(c.job_id, c.shard): (c.items_labeled, c.answers) for c in JobCounter.objects.all()}
    assert shards == {(done.pk, 0): (5, 12), (empty.pk, 0): (0, 0)}

    back = _migrate(BEFORE)
    Job = back.get_model("labeling", "Job")
    restored = Job.objects.get(pk=done.pk)
    assert (restored.items_labeled, restored.answers_total) == (5, 12)
