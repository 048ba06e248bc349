"""What each index and storage setting of the item table costs an import (issue 20).

Runs Django in this process on a fresh database (``--pg-port``/``--database``, as
profile_requests.py), and stores the same ``--items`` text items (bench/claim.py's manifest)
with the import's own code (``import_run``: the check of every line, the COPY and the commit)
once per variant of the item table: as migrated (the data manager's trigram index over the
item's text with a 256 kB pending list, fillfactor 70), the trigram index with other pending-
list settings, without it, and with fillfactor 100. The item table is emptied (TRUNCATE)
before each run, so every variant starts from the same empty table and indexes.

``--as-migrated`` runs the first variant only: it works on any commit (since issue 20's search
text table there is no trigram index on the item table to vary), and, where the search text is
written after the import's commit, times that too (the backlog drained in this process).

    .venv/bin/python bench/import_indexes.py --items 200000 --pg-port 5432 \\
        --database quorum_bench_import
"""

import argparse
import sys
import time

import _harness
from _harness import manifest_file, setup_django_in_process
from profile_requests import use_postgres_port

# (name, SQL run before the import)
VARIANTS = [
    ("as migrated: trigram index (pending list 256 kB), fillfactor 70", []),
    (
        "trigram index, pending list 4 MB (PostgreSQL's default)",
        ["ALTER INDEX item_text_trgm SET (gin_pending_list_limit = 4096)"],
    ),
    (
        "trigram index, pending list 64 MB",
        ["ALTER INDEX item_text_trgm SET (gin_pending_list_limit = 65536)"],
    ),
    (
        "trigram index without a pending list (fastupdate off)",
        ["ALTER INDEX item_text_trgm SET (fastupdate = off)"],
    ),
    ("no trigram index, fillfactor 70", ["DROP INDEX item_text_trgm"]),
    ("no trigram index, fillfactor 100", ["ALTER TABLE labeling_item SET (fillfactor = 100)"]),
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--database", default="quorum_bench_import")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant")
    parser.add_argument(
        "--as-migrated", action="store_true", help="the item table as migrated only"
    )
    parser.add_argument(
        "--redis-url", default="", help="a Redis database of your own (tasks are sent there)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    use_postgres_port(args.pg_port, args.database)
    if args.redis_url:
        _harness.REDIS_URL = args.redis_url
    setup_django_in_process(eager=False)
    from django.db import connection

    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.models import ImportRun, Role
    from labeling.services.jobs import job_create
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    manager, _, _ = user_create(username="import-manager", role=Role.MANAGER)
    team = team_create(name="import-team")
    manifest = manifest_file(args.items)
    try:  # issue 20: the search text, written after the import's commit
        from labeling.services.item_text import item_text_fill
    except ImportError:
        item_text_fill = None
    results = []
    fills = []
    for name, statements in VARIANTS[:1] if args.as_migrated else VARIANTS:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        seconds = []
        for _ in range(args.repeat):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE labeling_item CASCADE")
                cursor.execute("CHECKPOINT")
            job = job_create(
                created_by=manager,
                name=f"import-{len(results)}-{len(seconds)}",
                task_type="text-classification",
                labels=["a", "b", "c"],
                team=team,
                workers_per_item=3,
            )
            with manifest.open("rb") as handle:
                run = import_stage_manifest(
                    job=job, created_by=manager, chunks=iter(lambda: handle.read(1 << 20), b"")
                )
            started = time.perf_counter()
            import_run(import_id=run.pk)
            seconds.append(round(time.perf_counter() - started, 2))
            run = ImportRun.objects.get(pk=run.pk)
            assert run.status == "succeeded", (run.status, run.errors)
            if item_text_fill is not None:
                started = time.perf_counter()
                while item_text_fill():
                    pass
                fills.append(round(time.perf_counter() - started, 2))
        results.append((name, seconds))
        print(f"{name}: {seconds} s for {args.items} items", file=sys.stderr, flush=True)
    base = min(results[0][1])
    print(f"\nimport_run of {args.items} items ({_harness.DATABASE_URL}):")
    for name, seconds in results:
        print(f"  {min(seconds):7.2f} s ({min(seconds) / base:4.0%} of as migrated)  {name}")
    if fills:
        print(f"  then the search text written after the commit: {fills} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
