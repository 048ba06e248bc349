"""bench/pipelines.py's streaming scenario (issue 16): a streaming job fed at a steady rate
while simulated labelers answer through the API, on a real stack (gunicorn + a Celery worker
with beat, an own PostgreSQL cluster, Redis).

A local webhook receiver records when each result arrives, and a reader long-polls the
results feed; both are compared with the result's consolidation time (the manifest line's
``creation-date``). Reports p50/p99/max from consolidation to webhook receipt (target p99 under
2 s) and to the feed, and whether every result arrived, once, in order per item.

    .venv/bin/python bench/pipelines.py --scenario streaming --streaming-minutes 3
"""

import argparse
import http.server
import json
import multiprocessing
import statistics
import threading
import time
from datetime import UTC, datetime

import _harness
from _harness import OUT, Client, Stack, WebConfig, create_labelers, create_team, expect
from _pgcluster import OwnPostgres
from _probes import machine

SECRET = "bench-stream-secret"
TARGET_P99_SECONDS = 2.0
DRAIN_SECONDS = 90
LABELER_DRAIN_SECONDS = 15
FEED_WAIT_SECONDS = 25


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --streaming-)."""
    group.add_argument("--streaming-minutes", type=float, default=10.0, help="how long to feed")
    group.add_argument("--streaming-rate", type=float, default=100.0, help="items per second")
    group.add_argument("--streaming-labelers", type=int, default=24)
    group.add_argument(
        "--streaming-web", type=WebConfig.parse, default=WebConfig.parse("gthread:2x8")
    )
    group.add_argument("--streaming-celery", type=int, default=4, help="Celery concurrency")
    group.add_argument("--streaming-pg-port", type=int, default=8421)
    group.add_argument("--streaming-hook-port", type=int, default=8422)
    group.add_argument("--streaming-redis-db", type=int, default=3)


def _utc_seconds(text: str) -> float:
    """A manifest ``creation-date`` (UTC, no zone) as epoch seconds."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(at(0.99), 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


class _Arrivals:
    """What reached the webhook receiver or the feed reader: (event, time) per item, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_item: dict[int, list[tuple[str, float, float]]] = {}
        self.count = 0

    def add(self, body: dict, arrived: float) -> None:
        consolidated = None
        line = body.get("manifestLine")
        if line:
            metadata = next((v for k, v in line.items() if k.endswith("-metadata")), {})
            consolidated = _utc_seconds(metadata["creation-date"])
        with self.lock:
            self.by_item.setdefault(body["itemId"], []).append(
                (body["event"], arrived, consolidated or arrived)
            )
            self.count += 1

    def latencies(self) -> list[float]:
        with self.lock:
            return [
                arrived - made
                for events in self.by_item.values()
                for name, arrived, made in events
                if name == "item.consolidated"
            ]


def _receive(port: int, out_path: str, ready) -> None:
    """The webhook receiver, in a process of its own (the bench's labeler threads would slow
    its answers down): one line per delivery, its arrival time and body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrived = time.time()
            self.send_response(204)
            self.end_headers()
            with lock, open(out_path, "a") as handle:
                handle.write(json.dumps({"arrived": arrived, "body": json.loads(raw)}) + "\n")

        def log_message(self, *args):
            pass

    lock = threading.Lock()
    server = http.server.ThreadingHTTPServer((_harness.HOST, port), Handler)
    ready.set()
    server.serve_forever()


def _hooks_from(path) -> _Arrivals:
    arrivals = _Arrivals()
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            arrivals.add(record["body"], record["arrived"])
    return arrivals


def _hooks_count(path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


def run(args: argparse.Namespace) -> dict:
    minutes, rate = args.streaming_minutes, args.streaming_rate
    cluster = OwnPostgres(OUT / f"pg-{args.streaming_pg_port}", args.streaming_pg_port)
    redis_url = f"redis://127.0.0.1:6379/{args.streaming_redis_db}"
    feed = _Arrivals()
    hooks_path = OUT / f"streaming-hooks-{args.streaming_hook_port}.jsonl"
    hooks_path.unlink(missing_ok=True)
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(
        target=_receive, args=(args.streaming_hook_port, str(hooks_path), ready), daemon=True
    )
    receiver.start()
    ready.wait(10)
    stop = threading.Event()
    labelers_stop = threading.Event()
    feeding_done = threading.Event()
    counts = {"posted": 0, "answered": 0, "empty_claims": 0, "errors": 0}
    count_lock = threading.Lock()

    def bump(name: str, by: int = 1) -> None:
        with count_lock:
            counts[name] += by

    with cluster:
        stack = Stack(
            args.streaming_web,
            celery_concurrency=args.streaming_celery,
            database_url=cluster.database_url(_harness.DB_NAME),
            admin_url=cluster.admin_url,
            redis_url=redis_url,
            postgres_pids=cluster.pids,
            beat=True,
            name=f"streaming-{cluster.port}",
        )
        stack.env["QUORUM_OUTBOUND_ALLOW"] = "127.0.0.0/8"  # the receiver is on loopback
        with stack:
            token = stack.create_manager("bench-manager")
            manager = Client(stack.port, token)
            team = create_team(manager, "stream-team")
            labeler_tokens = create_labelers(manager, team, "streamer", args.streaming_labelers)
            status, job, _ = manager.call(
                "POST",
                "/api/v1/jobs",
                {"name": "stream", "task_type": "text-classification", "team": team,
                 "labels": _harness.LABELS, "workers_per_item": 1},
            )  # fmt: skip
            job_id = expect(status, job, 201)["id"]
            status, body, _ = manager.call(
                "PUT",
                f"/api/v1/jobs/{job_id}/stream",
                {"item_lifetime_seconds": 3600, "webhook_secret": SECRET,
                 "webhook_url": f"http://{_harness.HOST}:{args.streaming_hook_port}/hook"},
            )  # fmt: skip
            expect(status, body, 200)
            expect(*manager.call("POST", f"/api/v1/jobs/{job_id}/start")[:2], 200)

            def feeder() -> None:
                client = Client(stack.port, token)
                per_tick, tick = max(1, round(rate / 10)), 0.1
                started, n = time.monotonic(), 0
                while time.monotonic() - started < minutes * 60 and not stop.is_set():
                    batch = [{"clientKey": f"k{n + i}", "source": f"object {n + i}"}
                             for i in range(per_tick)]  # fmt: skip
                    status, body, _ = client.call("POST", f"/api/v1/jobs/{job_id}/items", batch)
                    if status == 201:
                        n += per_tick
                        bump("posted", per_tick)
                    else:
                        bump("errors")
                        time.sleep(tick)
                    next_at = started + (n / per_tick) * tick
                    time.sleep(max(0.0, next_at - time.monotonic()))
                feeding_done.set()
                client.close()

            def labeler(token: str) -> None:
                client = Client(stack.port, token)
                while not labelers_stop.is_set():
                    status, lease, _ = client.call("POST", f"/api/v1/jobs/{job_id}/tasks/next")
                    if status == 204:
                        bump("empty_claims")
                        time.sleep(0.2)
                        continue
                    if status != 200:
                        bump("errors")
                        time.sleep(0.2)
                        continue
                    label = _harness.LABELS[lease["item"]["id"] % len(_harness.LABELS)]
                    status, _, _ = client.call(
                        "POST",
                        f"/api/v1/assignments/{lease['assignment_id']}/submit",
                        {"answer": {"label": label}},
                    )
                    bump("answered" if status == 201 else "errors")
                client.close()

            def reader() -> None:
                client = Client(stack.port, token, timeout=FEED_WAIT_SECONDS + 30)
                cursor = ""
                while not stop.is_set():
                    query = "?wait=5&limit=1000" + (f"&after={cursor}" if cursor else "")
                    status, page, _ = client.call("GET", f"/api/v1/jobs/{job_id}/results{query}")
                    if status != 200:
                        bump("errors")
                        time.sleep(1)
                        continue
                    arrived = time.time()
                    for event in page["results"]:
                        feed.add(event, arrived)
                    cursor = page["cursor"]
                client.close()

            threads = [threading.Thread(target=feeder), threading.Thread(target=reader)] + [
                threading.Thread(target=labeler, args=(t,)) for t in labeler_tokens
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            feeding_done.wait()
            fed_seconds = time.monotonic() - started
            # The labelers drain what they can, then stop; the results they made must all
            # reach the webhook and the feed (they are waited for, up to DRAIN_SECONDS).
            drain_until = time.monotonic() + LABELER_DRAIN_SECONDS
            while time.monotonic() < drain_until:
                with count_lock:
                    if counts["answered"] >= counts["posted"]:
                        break
                time.sleep(1)
            labelers_stop.set()
            for thread in threads[2:]:
                thread.join(timeout=60)
            results = 0
            deliveries_until = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deliveries_until:
                status, stream_body, _ = manager.call("GET", f"/api/v1/jobs/{job_id}/stream")
                stream_counts = expect(status, stream_body, 200)["counts"]
                results = stream_counts["results"]
                if (
                    stream_counts["deliveries_pending"] == 0
                    and _hooks_count(hooks_path) >= results
                    and feed.count >= results
                ):
                    break
                time.sleep(1)
            stop.set()
            for thread in threads[:2]:
                thread.join(timeout=FEED_WAIT_SECONDS + 40)
            status, settings_body, _ = manager.call("GET", f"/api/v1/jobs/{job_id}/stream")
            manager.call("POST", f"/api/v1/jobs/{job_id}/stop")
            manager.close()
    receiver.terminate()
    receiver.join(5)
    hooks = _hooks_from(hooks_path)

    hook_latency = _percentiles(hooks.latencies())
    feed_latency = _percentiles(feed.latencies())
    # Every item answered has exactly one result (no relabels here), once on each side.
    results = (settings_body or {}).get("counts", {}).get("results")
    once = all(
        [name for name, _, _ in events] == ["item.consolidated"]
        for arrivals in (hooks, feed)
        for events in arrivals.by_item.values()
    )
    complete = hooks.count == feed.count == results == counts["answered"]
    figures = {
        "machine": machine(),
        "minutes_fed": round(fed_seconds / 60, 2),
        "rate_asked": rate,
        "rate_fed": round(counts["posted"] / fed_seconds, 1),
        "labelers": args.streaming_labelers,
        "web": str(args.streaming_web),
        "celery": f"worker --beat, concurrency {args.streaming_celery}",
        **counts,
        "webhook_received": hooks.count,
        "feed_events": feed.count,
        "every_result_once_per_item": once,
        "every_result_arrived": complete,
        "consolidation_to_webhook_seconds": hook_latency,
        "consolidation_to_feed_seconds": feed_latency,
        "stream_counts": (settings_body or {}).get("counts"),
        "target_p99_met": hook_latency["p99"] is not None
        and hook_latency["p99"] < TARGET_P99_SECONDS,
    }
    figures["summary"] = (
        f"fed {figures['rate_fed']}/s (asked {rate}/s) for {figures['minutes_fed']} min, "
        f"{args.streaming_labelers} labelers answered {counts['answered']}; consolidation → "
        f"webhook p50 {hook_latency['p50']} s, p99 {hook_latency['p99']} s, max "
        f"{hook_latency['max']} s (target p99 < {TARGET_P99_SECONDS} s); feed p50 "
        f"{feed_latency['p50']} s, p99 {feed_latency['p99']} s; every result arrived: "
        f"{complete}, once: {once}"
    )
    return figures
