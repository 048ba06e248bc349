"""The Celery re-estimation of a job with 1,000,000 answers, on PostgreSQL.

    .venv/bin/python bench/reestimate.py [--items 100000] [--per-item 10] [--no-record]

Builds, in a database of its own (``quorum_wt5_reestimate``, dropped and re-created), a job
of N items with K answers each from 200 simulated workers of varied accuracy (5 classes),
every item labeled by majority vote, the way a finished fixed-overlap job looks. Then runs
``job_quality_reestimate`` (what the Celery task runs) twice: the first switches the job to
EM and re-consolidates (a cold EM: no estimates stored yet), the second starts EM from the
estimates the first stored (warm start) and finds nothing to change. Reports the time of each run,
how many labels changed, and the accuracy of the labels against the simulated truth before
(majority) and after (EM). The previous estimates stay readable throughout: the run writes
in one transaction at its end.
"""

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DB = "quorum_wt5_reestimate"
os.environ.update(
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
    SECRET_KEY="bench",
    DEBUG="0",
    QUORUM_VAR_DIR=str(REPO / "bench" / "out" / "reestimate-var"),
    DJANGO_SETTINGS_MODULE="config.settings",
)
os.environ.pop("REDIS_URL", None)
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import django  # noqa: E402
import numpy as np  # noqa: E402
import psycopg  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LABELS = ["a", "b", "c", "d", "e"]
N_WORKERS = 200
ANSWER_JSON = [f'{{"label": "{label}"}}' for label in LABELS]


def reset_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=REPO, check=True, capture_output=True, env=os.environ.copy(),
    )  # fmt: skip


def _copy(cursor, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(str(value) for value in row) + "\n")
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while block := buffer.read(1 << 20):
            copy.write(block)


def build(n_items: int, per_item: int):
    """The finished job, written with COPY; returns (job, truth by item id)."""
    from django.db import connection  # noqa: PLC0415 - after django.setup()

    from labeling.consolidation.dawid_skene import vote_counts  # noqa: PLC0415
    from labeling.models import Job, Role, Team, TeamMembership, User  # noqa: PLC0415
    from labeling.quality.math.simulation import fixed_overlap_answers, make_crowd  # noqa: PLC0415
    from labeling.services.counters import job_counters_add  # noqa: PLC0415

    manager = User.objects.create(username="pm", role=Role.MANAGER)
    team = Team.objects.create(name="crowd")
    workers = User.objects.bulk_create(
        [User(username=f"w{i:03d}", role=Role.LABELER) for i in range(N_WORKERS)]
    )
    TeamMembership.objects.bulk_create([TeamMembership(team=team, user=w) for w in workers])
    job = Job.objects.create(
        name="reestimate", label_attribute_name="label", task_type="text-classification",
        labels=LABELS, team=team, workers_per_item=min(per_item, 9), created_by=manager,
        status="in_progress",
    )  # fmt: skip
    crowd = make_crowd(n_items=n_items, n_workers=N_WORKERS, n_classes=len(LABELS), seed=4)
    items, who, answers = fixed_overlap_answers(crowd, per_item=per_item, seed=5)
    worker_ids = np.array([w.pk for w in workers])
    majority = vote_counts(items, answers, n_items, len(LABELS))
    winners = majority.argmax(axis=1)
    shares = majority.max(axis=1) / per_item
    now = "2026-01-01 00:00:00+00"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(raw, "labeling_item", "id, job_id, data, priority, status, taken, answers",
              ((i + 1, job.pk, '{"source": "x"}', 0, "labeled", per_item, per_item)
               for i in range(n_items)))  # fmt: skip
        _copy(raw, "labeling_assignment",
              "id, job_id, item_id, worker_id, status, leased_at, expires_at, finished_at",
              ((n + 1, job.pk, int(items[n]) + 1, int(worker_ids[who[n]]), "submitted", now,
                now, now) for n in range(len(items))))  # fmt: skip
        _copy(raw, "labeling_annotation",
              "id, assignment_id, job_id, item_id, worker_id, answer, label, accepted_at, "
              "submitted_at, time_spent_seconds",
              ((n + 1, n + 1, job.pk, int(items[n]) + 1, int(worker_ids[who[n]]),
                ANSWER_JSON[answers[n]], LABELS[answers[n]], now, now, 1.0)
               for n in range(len(items))))  # fmt: skip
        _copy(raw, "labeling_consolidatedlabel",
              "item_id, job_id, value, label, confidence, method, human_annotated, "
              "answers_count, created_at",
              ((i + 1, job.pk, ANSWER_JSON[winners[i]], LABELS[winners[i]],
                round(float(shares[i]), 6), "majority", "t", per_item, now)
               for i in range(n_items)))  # fmt: skip
        for table in ("labeling_item", "labeling_assignment", "labeling_annotation"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    Job.objects.filter(pk=job.pk).update(items_total=n_items)
    job_counters_add(job_id=job.pk, shard_key=0, items_labeled=n_items, answers=len(items))
    return Job.objects.get(pk=job.pk), crowd.truth


def label_accuracy(job, truth) -> float:
    from labeling.models import ConsolidatedLabel  # noqa: PLC0415

    rows = np.array(list(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "label")))
    index = {label: i for i, label in enumerate(LABELS)}
    items = rows[:, 0].astype(np.int64) - 1
    labels = np.array([index[label] for label in rows[:, 1]])
    return round(float((labels == truth[items]).mean()), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--per-item", type=int, default=10)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    print("building the job", file=sys.stderr)
    reset_database()
    django.setup()
    from labeling.quality.services.reliability import job_quality_reestimate  # noqa: PLC0415

    started = time.perf_counter()
    job, truth = build(args.items, args.per_item)
    figures = {
        "items": args.items,
        "answers": args.items * args.per_item,
        "workers": N_WORKERS,
        "build_seconds": round(time.perf_counter() - started, 1),
        "accuracy_majority": label_accuracy(job, truth),
        "runs": [],
    }
    for run in range(2):
        print(f"re-estimation {run + 1}", file=sys.stderr)
        started = time.perf_counter()
        estimate = job_quality_reestimate(job_id=job.pk)
        figures["runs"].append(
            {
                "seconds": round(time.perf_counter() - started, 2),
                "method": estimate.method_in_use,
                "labels_changed": estimate.labels_changed,
                "answers_used": estimate.answers_used,
                "alpha": estimate.alpha,
                "iterations": estimate.iterations,
                "warm_start": estimate.warm_start,
            }
        )
    figures["accuracy_after"] = label_accuracy(job, truth)
    from _harness import command_line, git_commit, record  # noqa: PLC0415
    from _probes import machine  # noqa: PLC0415

    figures.update(machine=machine(), code=git_commit())
    first, second = figures["runs"]
    summary = (
        f"{figures['answers']} answers, {N_WORKERS} workers: re-estimation {first['seconds']} s "
        f"({first['method']}, {first['labels_changed']} labels changed; accuracy "
        f"{figures['accuracy_majority']} -> {figures['accuracy_after']}; EM {first['iterations']} "
        f"iterations, cold), again {second['seconds']} s ({second['labels_changed']} changed; "
        f"{second['iterations']} iterations, warm start {second['warm_start']})"
    )
    record(command_line(), summary, figures, write=not args.no_record)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
