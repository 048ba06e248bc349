"""Benchmark of review loops: StartHumanLoop under concurrent clients, and routing 100,000
predictions in a series of batch calls, on PostgreSQL + Redis with gunicorn as
``manage.py serve`` runs it (gthread, 2 workers × 8 threads) and a Celery worker.

Each StartHumanLoop client is one thread with one keep-alive connection that signs every
request with botocore's own SigV4 signer (the signer boto3 uses) and sends it in a closed
loop, so the latency is the server's answer time, signature check included. Its own database
(``quorum_bench_wt3``) and Redis database (3) keep it apart from the other benchmarks.

    .venv/bin/python bench/review_loops.py            # the full run (about 3 minutes)
    .venv/bin/python bench/review_loops.py --quick    # a smoke run
"""

import argparse
import json
import random
import sys
import threading
import time
import uuid
from typing import Any

import _probes

_probes.DB_NAME = "quorum_bench_wt3"  # before _harness reads it

import _harness  # noqa: E402
from _harness import (  # noqa: E402
    Client,
    Stack,
    WebConfig,
    command_line,
    create_team,
    expect,
    git_commit,
    manage,
    record,
)
from _probes import CORES, CpuMeter, machine, ms, percentile  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

_harness.REDIS_URL = "redis://127.0.0.1:6379/3"
DEFAULT_WEB = "gthread:2x8"
TARGET_P99_MS_AT_10 = 50
BATCH = 1000
REGION = "us-east-1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,10,50", help="concurrency levels (comma list)")
    parser.add_argument("--seconds", type=float, default=30, help="window of each level")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--review-percent", type=float, default=10, help="share sent to people")
    parser.add_argument("--web", default=DEFAULT_WEB)
    parser.add_argument(
        "--paced-think", type=float, default=0.1, help="mean think time (s) of the paced run"
    )
    parser.add_argument("--quick", action="store_true", help="5 s windows, 5,000 predictions")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.predictions = 5, 1, 5_000
    return args


class Signer:
    def __init__(self, port: int, key_id: str, secret: str):
        self.base = f"http://127.0.0.1:{port}"
        self.auth = SigV4Auth(Credentials(key_id, secret), "sagemaker", REGION)

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        request = AWSRequest(
            method=method,
            url=self.base + path,
            data=body,
            headers={"Content-Type": "application/json"},
        )
        self.auth.add_auth(request)
        return dict(request.headers.items())


def _start_loops(
    port: int,
    signer: Signer,
    arn: str,
    measure_from: float,
    deadline: float,
    samples: list[float],
    errors: dict[str, int],
    lock: threading.Lock,
    think_mean: float,
    seed: int,
) -> None:
    client = Client(port)
    own: list[float] = []
    failures: dict[str, int] = {}
    rng = random.Random(seed)
    try:
        while time.monotonic() < deadline:
            if think_mean:
                time.sleep(rng.expovariate(1 / think_mean))
            name = "b-" + uuid.uuid4().hex[:24]
            body = json.dumps(
                {
                    "HumanLoopName": name,
                    "FlowDefinitionArn": arn,
                    "HumanLoopInput": {"InputContent": json.dumps({"source": f"text {name}"})},
                }
            ).encode()
            headers = signer.headers("POST", "/a2i/human-loops", body)
            started = time.monotonic()
            status, data, seconds = client.request("POST", "/a2i/human-loops", body, headers)
            if status != 200:
                key = f"{status} {data[:80]!r}"
                failures[key] = failures.get(key, 0) + 1
            elif started >= measure_from:
                own.append(seconds)
    finally:
        client.close()
        with lock:
            samples.extend(own)
            for key, count in failures.items():
                errors[key] = errors.get(key, 0) + count


def start_human_loop_level(
    stack: Stack,
    port: int,
    signer: Signer,
    arn: str,
    clients: int,
    seconds: float,
    warmup: float,
    think_mean: float = 0.0,
) -> dict[str, Any]:
    samples: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    now = time.monotonic()
    measure_from, deadline = now + warmup, now + warmup + seconds
    threads = [
        threading.Thread(
            target=_start_loops,
            args=(port, signer, arn, measure_from, deadline, samples, errors, lock, think_mean, n),
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    # CPU of the server, PostgreSQL, this client process and everyone else in the window.
    meter = CpuMeter(stack)
    time.sleep(max(0.0, measure_from - time.monotonic()))
    meter.start()
    time.sleep(max(0.0, deadline - time.monotonic()))
    cpu = meter.stop()
    for thread in threads:
        thread.join()
    server_ms = (
        (cpu.get("gunicorn", 0) + cpu.get("postgres", 0)) * CORES * seconds * 1000 / len(samples)
        if samples
        else None
    )
    return {
        "clients": clients,
        "think_mean_ms": round(think_mean * 1000),
        "calls": len(samples),
        "calls_per_second": round(len(samples) / seconds, 1),
        "cpu_share": cpu,
        "server_cpu_ms_per_call": round(server_ms, 2) if server_ms else None,
        "p50_ms": ms(percentile(samples, 0.50)),
        "p95_ms": ms(percentile(samples, 0.95)),
        "p99_ms": ms(percentile(samples, 0.99)),
        "max_ms": ms(max(samples) if samples else None),
        "errors": errors,
    }


def route_predictions(manager: Client, flow_id: int, count: int) -> dict[str, Any]:
    latencies: list[float] = []
    reviewed = 0
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        batch = [
            {
                "id": f"pred-{index}",
                "input": {"source": f"prediction input {index}", "n": index},
                "prediction": {"label": "positive", "confidence": 0.99},
            }
            for index in range(first, min(first + BATCH, count))
        ]
        status, body, seconds = manager.call(
            "POST", f"/api/v1/flows/{flow_id}/predictions", {"predictions": batch}
        )
        results = expect(status, body, 200)["results"]
        reviewed += sum(result["decision"] == "review" for result in results)
        latencies.append(seconds)
    total = time.perf_counter() - started
    # The same first batch again: idempotent, nothing new.
    status, body, seconds = manager.call(
        "POST",
        f"/api/v1/flows/{flow_id}/predictions",
        {
            "predictions": [
                {
                    "id": f"pred-{index}",
                    "input": {"source": f"prediction input {index}", "n": index},
                    "prediction": {"label": "positive", "confidence": 0.99},
                }
                for index in range(min(BATCH, count))
            ]
        },
    )
    repeated = sum(r.get("repeated", False) for r in expect(status, body, 200)["results"])
    return {
        "predictions": count,
        "batch_size": BATCH,
        "calls": len(latencies),
        "total_seconds": round(total, 2),
        "predictions_per_second": round(count / total),
        "sent_to_review": reviewed,
        "call_p50_ms": ms(percentile(latencies, 0.50)),
        "call_p99_ms": ms(percentile(latencies, 0.99)),
        "repeat_batch_all_repeated": repeated == min(BATCH, count),
        "repeat_batch_ms": ms(seconds),
    }


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    levels = [int(part) for part in args.clients.split(",") if part.strip()]
    with Stack(WebConfig.parse(args.web)) as stack:
        token = stack.create_manager("bench-pm")
        manager = Client(stack.port, token)
        team_id = create_team(manager, "reviewers")
        key_id, secret = manage("create_access_key", "bench-pm", env=stack.env).split()[-2:]
        flow_payload = {
            "name": "bench-start",
            "team": team_id,
            "task_type": "text-classification",
            "labels": _harness.LABELS,
        }
        status, flow, _ = manager.call("POST", "/api/v1/flows", flow_payload)
        flow = expect(status, flow, 201)
        signer = Signer(stack.port, key_id, secret)
        starts = [
            start_human_loop_level(
                stack, stack.port, signer, flow["arn"], clients, args.seconds, args.warmup
            )
            for clients in levels
        ]
        # 10 clients that pause (exponential, mean --paced-think) between calls: a service's
        # steady traffic rather than a saturating closed loop.
        paced = start_human_loop_level(
            stack, stack.port, signer, flow["arn"], 10, args.seconds, args.warmup, args.paced_think
        )
        route_payload = {
            **flow_payload,
            "name": "bench-route",
            "sample_percent": args.review_percent,
            "conditions": {"confidence_below": 0.5},
        }
        status, route_flow, _ = manager.call("POST", "/api/v1/flows", route_payload)
        route_flow = expect(status, route_flow, 201)
        routing = route_predictions(manager, route_flow["id"], args.predictions)
        manager.close()
    at_10 = next((s for s in starts if s["clients"] == 10), None)
    paced_met = paced["p99_ms"] is not None and paced["p99_ms"] < TARGET_P99_MS_AT_10
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "web": args.web,
        "client": "threads, keep-alive http.client, botocore SigV4Auth per request",
        "start_human_loop": starts,
        "start_human_loop_paced": paced,
        "routing": routing,
        "target_p99_ms_at_10_clients": TARGET_P99_MS_AT_10,
        "target_met_closed_loop": bool(at_10 and at_10["p99_ms"] is not None)
        and at_10["p99_ms"] < TARGET_P99_MS_AT_10,
        "target_met_paced": paced_met,
    }
    summary = (
        "StartHumanLoop "
        + ", ".join(
            f"K={s['clients']}: {s['calls_per_second']}/s p99 {s['p99_ms']} ms "
            f"(server CPU {s['server_cpu_ms_per_call']} ms/call, client "
            f"{s['cpu_share'].get('generator', 0):.0%}, other load "
            f"{s['cpu_share'].get('other', 0):.0%})"
            for s in starts
        )
        + (
            f"; paced K=10 (think {paced['think_mean_ms']} ms): {paced['calls_per_second']}/s "
            f"p99 {paced['p99_ms']} ms"
            f"; routing {routing['predictions']:,} in {routing['calls']} calls: "
            f"{routing['total_seconds']} s ({routing['predictions_per_second']}/s, "
            f"{routing['sent_to_review']} to review)"
        )
    )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main(sys.argv[1:])
