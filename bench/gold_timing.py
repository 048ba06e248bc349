"""Does a gold item take longer to lease or to submit than an ordinary one? (issue 12)

One labeler works through a job of ``--items`` items, ``--gold-share`` of them gold and
spread through the job, with the gold rate at 1 (every gold item in their queue), through
the REST API in this process (Django's test client: the whole request stack, no network),
on PostgreSQL. Each claim (``POST /jobs/<id>/tasks/next``) and each submit is timed and
tagged gold or ordinary. Printed as one JSON object, with a row appended to
bench/RESULTS.md (--no-record: print only):

  claim / submit median and p90 for gold and for ordinary items, their ratio, and the AUC
  of a threshold rule "slower means gold" (0.5 is chance).

The database (``--database``, created afresh and dropped at the end) and the Redis database
(``--redis-db``, emptied at the end) are this script's own, so it does not disturb a server
bench. No Celery worker runs: what a submit hands to Celery (the re-estimation) stays
queued, as in production it leaves the request.

    .venv/bin/python bench/gold_timing.py [--items 3000] [--workers-per-item 1]
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg
import redis
from _harness import OUT, REPO, command_line, git_commit, record
from _probes import PG_ADMIN_URL, machine, percentile


def _auc(gold: list[float], ordinary: list[float]) -> float:
    """Mann-Whitney AUC of "slower means gold", by ranks (ties count half)."""
    tagged = sorted([(v, 1) for v in gold] + [(v, 0) for v in ordinary])
    rank_sum, index = 0.0, 0
    while index < len(tagged):
        end = index
        while end < len(tagged) and tagged[end][0] == tagged[index][0]:
            end += 1
        mean_rank = (index + 1 + end) / 2
        rank_sum += mean_rank * sum(flag for _, flag in tagged[index:end])
        index = end
    n_gold, n_ordinary = len(gold), len(ordinary)
    return (rank_sum - n_gold * (n_gold + 1) / 2) / (n_gold * n_ordinary)


def _setup_django(database: str, redis_db: int) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    (OUT / "var").mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        SECRET_KEY="bench",
        DEBUG="0",
        ALLOWED_HOSTS="testserver",
        QUORUM_VAR_DIR=str(OUT / "var"),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)


def _drop(database: str, redis_db: int) -> None:
    """Drop the database, and the Celery messages the submits queued (no worker runs)."""
    from django.db import connections

    connections.close_all()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()


def _job(items: int, gold_share: float, workers_per_item: int):
    import json

    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.models import Item, Role
    from labeling.quality.services.gold import gold_item_mark
    from labeling.quality.services.reliability import job_quality_configure
    from labeling.services.jobs import job_create, job_start
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    team = team_create(name="gold bench")
    manager, _, _ = user_create(username="gm", role=Role.MANAGER, password="gold-bench-pass-1")
    labeler, _, _ = user_create(
        username="gl", role=Role.LABELER, team=team, password="gold-bench-pass-1"
    )
    job = job_create(
        created_by=manager,
        name="gold bench",
        task_type="text-classification",
        labels=["cat", "dog", "bird"],
        team=team,
        workers_per_item=workers_per_item,
    )
    body = "".join(json.dumps({"source": f"text {i}"}) + "\n" for i in range(items)).encode()
    import_run(import_id=import_stage_manifest(job=job, created_by=manager, chunks=[body]).pk)
    job.refresh_from_db()
    job_start(job=job, by=manager)
    ids = list(Item.objects.filter(job=job).values_list("id", flat=True))
    for item_id in random.Random(7).sample(ids, round(items * gold_share)):
        gold_item_mark(job=job, item_id=item_id, label="dog")
    job.refresh_from_db()
    return job_quality_configure(job=job, gold_rate=1.0), labeler


def _work_through(job, labeler) -> list[tuple[bool, float, float]]:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from labeling.models import GoldItem

    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=labeler)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    steps = []
    while True:
        started = time.perf_counter()
        claimed = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        claim_ms = (time.perf_counter() - started) * 1000
        if claimed.status_code == 204:
            return steps
        lease = claimed.json()
        started = time.perf_counter()
        client.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            {"answer": {"label": "cat"}},
            format="json",
        )
        submit_ms = (time.perf_counter() - started) * 1000
        steps.append((lease["item"]["id"] in gold_ids, claim_ms, submit_ms))


def _figures(values: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(values), 3),
        "p90_ms": round(percentile(values, 0.9), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--gold-share", type=float, default=0.1)
    parser.add_argument("--workers-per-item", type=int, default=1)
    parser.add_argument("--database", default="quorum_gold_bench")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    _setup_django(args.database, args.redis_db)
    try:
        job, labeler = _job(args.items, args.gold_share, args.workers_per_item)
        steps = _work_through(job, labeler)
    finally:
        _drop(args.database, args.redis_db)
    result = {"machine": machine(), "code": git_commit(), "items": len(steps)}
    for name, column in (("claim", 1), ("submit", 2)):
        gold = [step[column] for step in steps if step[0]]
        ordinary = [step[column] for step in steps if not step[0]]
        result[name] = {
            "gold": {"n": len(gold), **_figures(gold)},
            "ordinary": {"n": len(ordinary), **_figures(ordinary)},
            "median_ratio": round(statistics.median(gold) / statistics.median(ordinary), 3),
            "auc_slower_is_gold": round(_auc(gold, ordinary), 3),
        }
    claim, submit = result["claim"], result["submit"]
    summary = (
        f"{len(steps)} items, {claim['gold']['n']} gold, workers_per_item "
        f"{args.workers_per_item}, in process on PostgreSQL: claim median gold "
        f"{claim['gold']['median_ms']} / ordinary {claim['ordinary']['median_ms']} ms "
        f"(AUC {claim['auc_slower_is_gold']}); submit median gold {submit['gold']['median_ms']}"
        f" / ordinary {submit['ordinary']['median_ms']} ms (AUC {submit['auc_slower_is_gold']})"
    )
    record(command_line(), summary, result, write=not args.no_record)


if __name__ == "__main__":
    Path(OUT).mkdir(parents=True, exist_ok=True)
    main()
