"""Benchmark of the data manager's label sort on a multi-label job (PostgreSQL): the pages of
``sort=label`` / ``sort=-label`` read through ``ConsolidatedLabelClass``'s first labels.

Builds a job of ``--items`` items with bulk SQL: 1 in 10 open and unlabeled, 1 in 50 labeled
with an empty set, the rest with two of 20 labels. Times (p50, p95 over ``--repeat``) the first
page, the next page, and the pages that cross from one segment to the next (the last unlabeled
item, the last item with an empty set), both ways, with no filter and with ``label=l05``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_x \\
        .venv/bin/python bench/label_sort_several.py [--items 1000000] [--reuse]

Prints one JSON object.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from labeling.console.sorting import cursor_encode  # noqa: E402
from labeling.models import Job, Role, User  # noqa: E402
from labeling.services.jobs import job_create  # noqa: E402
from labeling.services.users import user_create  # noqa: E402
from labeling.workforces.services.teams import team_create  # noqa: E402

JOB_NAME = "label-sort-several-bench"
LABELS = [f"l{n:02d}" for n in range(20)]


def _sql(statement: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchone() if cursor.description else cursor.rowcount


# A value without a label has one row, the empty label (labeling/services/label_classes.py).
SENTINELS = """
    INSERT INTO labeling_consolidatedlabelclass (consolidated_id, item_id, job_id, label, first)
    SELECT id, item_id, job_id, '', true FROM labeling_consolidatedlabel
    WHERE job_id = %s AND value -> 'labels' = '[]'::jsonb
"""


def build(items: int) -> tuple[Job, User]:
    manager = User.objects.filter(username="ls-bench-pm").first()
    if manager is None:
        manager, _, _ = user_create(username="ls-bench-pm", role=Role.MANAGER, password=None)
    Job.objects.filter(name=JOB_NAME).delete()
    job = job_create(
        created_by=manager,
        name=JOB_NAME,
        task_type="text-classification-multilabel",
        labels=LABELS,
        team=team_create(name=f"ls-bench-team-{time.time_ns()}"),
        workers_per_item=1,
    )
    started = time.perf_counter()
    _sql(
        """
        INSERT INTO labeling_item (job_id, data, priority, status, taken, answers, extra_slots,
                                   review_requested, thumbnail)
        SELECT %s, '{"source": "text ' || i || '"}', 0,
               CASE WHEN i %% 10 = 7 THEN 'open' ELSE 'labeled' END, 0, 0, 0, false, ''
        FROM generate_series(1, %s) AS i
        """,
        [job.pk, items],
    )
    first = _sql("SELECT min(id) FROM labeling_item WHERE job_id = %s", [job.pk])[0]
    labels = "ARRAY[" + ",".join(f"'{name}'" for name in LABELS) + "]"
    # Two labels an item, (7n mod 20) and (13n + 1 mod 20); none on 1 in 50.
    _sql(
        f"""
        INSERT INTO labeling_consolidatedlabel (item_id, job_id, value, label, confidence,
                                                method, human_annotated, answers_count,
                                                created_at)
        SELECT item.id, item.job_id,
               CASE WHEN (item.id - %s) %% 50 = 0 THEN '{{"labels": []}}'::jsonb
                    ELSE jsonb_build_object('labels', jsonb_build_array(
                        ({labels})[1 + ((item.id - %s) * 7) %% 20],
                        ({labels})[1 + ((item.id - %s) * 13 + 1) %% 20])) END,
               '', 0.9, 'majority', true, 1, now()
        FROM labeling_item AS item WHERE item.job_id = %s AND item.status = 'labeled'
        """,
        [first, first, first, job.pk],
    )
    _sql(
        """
        INSERT INTO labeling_consolidatedlabelclass (consolidated_id, item_id, job_id, label,
                                                     first)
        SELECT consolidated.id, consolidated.item_id, consolidated.job_id, name.value,
               name.value = (SELECT min(x.value) FROM jsonb_array_elements_text(
                                 consolidated.value -> 'labels') AS x)
        FROM labeling_consolidatedlabel AS consolidated
        CROSS JOIN LATERAL (SELECT DISTINCT value FROM jsonb_array_elements_text(
                                consolidated.value -> 'labels')) AS name
        WHERE consolidated.job_id = %s
        """,
        [job.pk],
    )
    _sql(SENTINELS, [job.pk])
    Job.objects.filter(pk=job.pk).update(items_total=items, status="in_progress")
    for table in ("labeling_item", "labeling_consolidatedlabel", "labeling_consolidatedlabelclass"):
        _sql(f"VACUUM ANALYZE {table}")
    print(f"built {items} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    job.refresh_from_db()
    return job, manager


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))], 1)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    job = Job.objects.filter(name=JOB_NAME).first() if args.reuse else None
    manager = User.objects.filter(username="ls-bench-pm").first()
    if job is None or manager is None:
        job, manager = build(args.items)
    first = _sql("SELECT min(id) FROM labeling_item WHERE job_id = %s", [job.pk])[0]
    last = _sql("SELECT max(id) FROM labeling_item WHERE job_id = %s", [job.pk])[0]
    last_open = max(i for i in range(last - 20, last + 1) if (i - first + 1) % 10 == 7)
    first_labeled = min(i for i in range(first, first + 20) if (i - first + 1) % 10 != 7)
    last_empty = max(i for i in range(last - 60, last + 1) if (i - first) % 50 == 0)
    first_empty = min(i for i in range(first, first + 60) if (i - first) % 50 == 0)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    url = f"/api/v1/jobs/{job.pk}/items"
    cases: dict[str, dict[str, str]] = {}
    for filters, tag in (({}, ""), ({"label": "l05"}, " label=l05")):
        cases[f"label first{tag}"] = {"sort": "label", **filters}
        cases[f"-label first{tag}"] = {"sort": "-label", **filters}
        cases[f"label after the unlabeled{tag}"] = {
            "sort": "label",
            "cursor": cursor_encode(None, last_open, 0),
            **filters,
        }
        cases[f"label after the empty sets{tag}"] = {
            "sort": "label",
            "cursor": cursor_encode("", last_empty, 1),
            **filters,
        }
        cases[f"-label after the labels{tag}"] = {
            "sort": "-label",
            "cursor": cursor_encode(LABELS[0], first_labeled, 0),
            **filters,
        }
        cases[f"-label after the empty sets{tag}"] = {
            "sort": "-label",
            "cursor": cursor_encode("", first_empty, 0),
            **filters,
        }
    out: dict[str, Any] = {"items": job.items_total}
    for name, params in cases.items():
        for page in ("page", "next page"):
            timings = []
            body: dict[str, Any] = {}
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(url, {"limit": 50, **params})
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.content[:300]
                body = response.json()
            out[f"{name} {page}"] = {
                "p50_ms": _p(timings, 0.5),
                "p95_ms": _p(timings, 0.95),
                "rows": len(body["results"]),
            }
            if not body["next_cursor"]:
                break
            params = {**params, "cursor": body["next_cursor"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
