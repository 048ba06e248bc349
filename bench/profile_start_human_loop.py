"""Where a StartHumanLoop call spends its time: SQL per call and a cProfile of many calls.

Runs Django in this process (no server) against a fresh ``quorum_bench_wt3`` database (Redis
database 3), creates a manager, a flow and an access key through the services, then sends
``--calls`` StartHumanLoop requests, each signed with botocore's SigV4 signer (outside the
measured part), through Django's WSGI handler. Prints the SQL of one call with timings, the
CPU per call without the profiler, and the top functions by cumulative and own time.

    .venv/bin/python bench/profile_start_human_loop.py --calls 2000
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
import uuid

import _probes

_probes.DB_NAME = "quorum_bench_wt3"  # before _harness reads it

import _harness  # noqa: E402
from _harness import print_profile, setup_django_in_process  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

_harness.REDIS_URL = "redis://127.0.0.1:6379/3"
ROUNDS = 10
HOST = "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40, help="functions shown in the profile")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    setup_django_in_process()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import workflows
    from labeling.models import Role
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create
    from workflows.services.access_keys import access_key_create
    from workflows.services.flows import flow_create

    print(f"workflows from {workflows.__file__}")
    manager, _, _ = user_create(username="profile-manager", role=Role.MANAGER)
    team = team_create(name="profile-team")
    flow = flow_create(
        created_by=manager,
        name="profile-flow",
        team=team,
        task_type="text-classification",
        labels=["cat", "dog", "bird"],
    )
    key = access_key_create(user=manager)
    auth = SigV4Auth(
        Credentials(key.access_key_id, key.secret_access_key), "sagemaker", "us-east-1"
    )
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:flow-definition/{flow.name}"
    client = Client(HTTP_HOST=HOST)

    def signed_request() -> tuple[bytes, dict[str, str]]:
        name = "p-" + uuid.uuid4().hex[:24]
        body = json.dumps(
            {
                "HumanLoopName": name,
                "FlowDefinitionArn": arn,
                "HumanLoopInput": {"InputContent": json.dumps({"source": f"text {name}"})},
            }
        ).encode()
        request = AWSRequest(
            method="POST",
            url=f"http://{HOST}/a2i/human-loops",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        auth.add_auth(request)
        extra = {
            "HTTP_X_AMZ_DATE": request.headers["X-Amz-Date"],
            "HTTP_AUTHORIZATION": request.headers["Authorization"],
        }
        return body, extra

    def one_call(prepared: tuple[bytes, dict[str, str]]) -> None:
        body, extra = prepared
        response = client.post(
            "/a2i/human-loops", data=body, content_type="application/json", **extra
        )
        assert response.status_code == 200, response.content

    for _ in range(30):  # warm up: lazy imports, connection, first plans
        one_call(signed_request())
    prepared = signed_request()
    with CaptureQueriesContext(connection) as queries:
        one_call(prepared)
    total = sum(float(q["time"]) for q in queries.captured_queries)
    print(
        f"\n== StartHumanLoop: {len(queries.captured_queries)} queries, "
        f"{total * 1000:.1f} ms in SQL"
    )
    for q in queries.captured_queries:
        print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:260]}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu() -> float:
        """CPU seconds of this connection's PostgreSQL server process, from /proc."""
        with open(f"/proc/{backend}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    rounds = []
    per_round = max(1, args.calls // ROUNDS)
    for _ in range(ROUNDS):
        batch = [signed_request() for _ in range(per_round)]
        cpu0, pg0, wall0 = time.process_time(), backend_cpu(), time.perf_counter()
        for prepared in batch:
            one_call(prepared)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pg = backend_cpu() - pg0
        rounds.append((cpu / per_round * 1000, wall / per_round * 1000, pg / per_round * 1000))
    cpus = sorted(cpu for cpu, _, _ in rounds)
    walls = sorted(wall for _, wall, _ in rounds)
    pgs = sorted(pg for _, _, pg in rounds)
    print(
        f"\n== {ROUNDS} rounds of {per_round} calls, per call, without the profiler: "
        f"Django CPU min {cpus[0]:.2f} ms, median {cpus[len(cpus) // 2]:.2f} ms; "
        f"PostgreSQL backend CPU min {pgs[0]:.2f} ms, median {pgs[len(pgs) // 2]:.2f} ms; "
        f"wall min {walls[0]:.2f} ms, median {walls[len(walls) // 2]:.2f} ms"
    )
    batch = [signed_request() for _ in range(args.calls)]
    # CPU time, not wall time: waits on PostgreSQL count for nothing here.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for prepared in batch:
        one_call(prepared)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls
    print(f"== {calls / args.calls:.0f} Python function calls per StartHumanLoop\n")
    print_profile(profiler, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
