"""Where a claim and a submit spend their time: SQL per request and a cProfile of the loop.

Runs Django in this process (no server) against a fresh ``quorum_bench`` database, sets up a
text-classification job with ``--items`` items through the services, then drives
``POST tasks/next`` + ``POST assignments/{id}/submit`` through Django's WSGI handler for
``--answers`` answers, one labeler at a time. Prints the SQL of one next and one submit with
their timings, the mean CPU per request, and the top functions by cumulative time.

    .venv/bin/python bench/profile_requests.py --items 100000 --answers 600
"""

import argparse
import cProfile
import json
import pstats
import sys
import time
from contextlib import nullcontext

import _harness
import _probes
from _harness import LABELS, print_profile, setup_django_in_process

ROUNDS = 10


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--labelers", type=int, default=6, help="labelers taking turns")
    parser.add_argument("--top", type=int, default=35, help="functions shown in the profile")
    parser.add_argument(
        "--pg-port",
        type=int,
        default=0,
        help="a PostgreSQL of your own on 127.0.0.1 (e.g. bench/claim.py's cluster, started); "
        "the database quorum_bench_profile is dropped and recreated there",
    )
    parser.add_argument(
        "--redis-url", default="", help="a Redis database of your own (it is emptied)"
    )
    parser.add_argument("--database", default="quorum_bench_profile", help="with --pg-port")
    parser.add_argument(
        "--web-only",
        action="store_true",
        help="Celery tasks go to the broker (not run in process): the web process's work only",
    )
    parser.add_argument("--dump", default="", help="also write the cProfile's stats to this file")
    return parser.parse_args(argv)


def use_postgres_port(port: int, database: str = "quorum_bench_profile") -> None:
    """Point the in-process Django at database ``quorum_bench_profile`` of the cluster on
    ``port``, not at the shared server's ``quorum_bench``."""
    _probes.DB_NAME = _harness.DB_NAME = database
    _harness.PG_ADMIN_URL = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _harness.DATABASE_URL = f"postgres://postgres@127.0.0.1:{port}/{database}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.pg_port:
        use_postgres_port(args.pg_port, args.database)
    if args.redis_url:
        _harness.REDIS_URL = args.redis_url
    setup_django_in_process(eager=not args.web_only)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.models import Role
    from labeling.services.jobs import job_create, job_start
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    manager, _, _ = user_create(username="profile-manager", role=Role.MANAGER)
    team = team_create(name="profile-team")
    job = job_create(
        created_by=manager,
        name="profile-job",
        task_type="text-classification",
        labels=LABELS,
        team=team,
        workers_per_item=3,
    )
    lines = (json.dumps({"source": f"Item {i}: some text"}) + "\n" for i in range(args.items))
    run = import_stage_manifest(
        job=job, created_by=manager, chunks=(line.encode() for line in lines)
    )
    import_run(import_id=run.pk)
    job.refresh_from_db()
    job_start(job=job, by=manager)
    clients = []
    for index in range(args.labelers):
        _, token, _ = user_create(username=f"p{index}", role=Role.LABELER, team=team)
        clients.append(Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1"))

    def one_answer(client: Client, capture: bool = False) -> dict:
        # Capturing SQL makes Django format every statement (mogrify): only for the sample.
        def captured():
            return CaptureQueriesContext(connection) if capture else nullcontext([])

        out = {}
        with captured() as claim_q:
            response = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        assert response.status_code == 200, response.content
        aid = response.json()["assignment_id"]
        with captured() as submit_q:
            response = client.post(
                f"/api/v1/assignments/{aid}/submit",
                data={"answer": {"label": LABELS[aid % len(LABELS)]}},
                content_type="application/json",
            )
        assert response.status_code == 201, response.content
        if capture:
            out["next"] = claim_q.captured_queries
            out["submit"] = submit_q.captured_queries
        return out

    for index in range(30):  # warm up: lazy imports, connection, first plans
        one_answer(clients[index % len(clients)])
    sample = one_answer(clients[0], capture=True)
    for kind in ("next", "submit"):
        queries = sample[kind]
        total = sum(float(q["time"]) for q in queries)
        print(f"\n== {kind}: {len(queries)} queries, {total * 1000:.1f} ms in SQL")
        for q in queries:
            print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:230]}")

    # Round trips per answer over a round of answers (one in three consolidates its item at
    # 3 workers per item), BEGIN and COMMIT included: a count load does not change.
    statements = {"next": 0, "submit": 0}
    counted_answers = max(60, args.labelers * 10)
    for index in range(counted_answers):
        counted = one_answer(clients[index % len(clients)], capture=True)
        for kind in statements:
            statements[kind] += len(counted[kind])
    per_answer = {kind: count / counted_answers for kind, count in statements.items()}
    print(
        f"\n== statements per answer over {counted_answers} answers (BEGIN and COMMIT included): "
        f"{sum(per_answer.values()):.2f} (next {per_answer['next']:.2f}, "
        f"submit {per_answer['submit']:.2f})"
    )

    # Rounds of answers without the profiler; the quietest round is the least disturbed by
    # whatever else runs on the machine.
    rounds = []
    per_round = max(1, args.answers // ROUNDS)
    for _ in range(ROUNDS):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for index in range(per_round):
            one_answer(clients[index % len(clients)])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        rounds.append((cpu / per_round * 1000, wall / per_round * 1000))
    cpus = sorted(cpu for cpu, _ in rounds)
    walls = sorted(wall for _, wall in rounds)
    print(
        f"\n== {ROUNDS} rounds of {per_round} answers, per answer (next + submit), without the "
        f"profiler: Django CPU min {cpus[0]:.2f} ms, median {cpus[len(cpus) // 2]:.2f} ms; "
        f"wall min {walls[0]:.2f} ms, median {walls[len(walls) // 2]:.2f} ms"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database excluded
    profiler.enable()
    for index in range(args.answers):
        one_answer(clients[index % len(clients)])
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls
    print(
        f"== {calls / args.answers:.0f} Python function calls per answer (a measure of work "
        "that other load on the machine does not disturb)\n"
    )
    print_profile(profiler, args.top)
    if args.dump:
        profiler.dump_stats(args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
