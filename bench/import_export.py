"""Benchmark of importing items (JSON Lines over the API) and of the streamed manifest export.

Starts its own stack (fresh ``quorum_bench`` database, gunicorn, a Celery worker), then for
each size (100,000 and 1,000,000 items by default):

  import  POST /api/v1/jobs/{id}/items with a JSON Lines body, then poll the import until it
          succeeds; the time runs from the start of the POST to ``succeeded`` (the Celery
          worker checks every line, then stores them with COPY);
  export  GET /api/v1/jobs/{id}/export?format=manifest, read to the end, while VmRSS of every
          gunicorn worker is sampled every 50 ms; reported: seconds, bytes, and the growth of
          the serving worker's RSS over its baseline (plus its VmHWM).

Before the exports, a share of the items (all, by default) get a consolidated label written
straight in SQL, so that most lines carry a label; the output says so.
Prints one JSON object and appends a row to bench/RESULTS.md.

    .venv/bin/python bench/import_export.py            # 100k and 1M (about 3 minutes)
    .venv/bin/python bench/import_export.py --quick    # a smoke run in under a minute
"""

import argparse
import http.client
import json
import sys
import time
from typing import Any

from _harness import (
    HOST,
    Client,
    Stack,
    WebConfig,
    command_line,
    create_job,
    create_team,
    db_connect,
    git_commit,
    import_items,
    record,
    use_commit,
)
from _probes import CpuMeter, RssSampler, machine, postgres_settings

DEFAULT_WEB = "gthread:2x8"
TARGET_IMPORT_1M_SECONDS = 60
TARGET_EXPORT_1M_SECONDS = 60
WARMUP_EXPORTS_PER_WORKER = 3
READ_BYTES = 1 << 20

LABEL_SQL = """
    INSERT INTO labeling_consolidatedlabel
        (item_id, job_id, value, label, confidence, method, human_annotated, answers_count,
         created_at)
    SELECT i.id, i.job_id,
           jsonb_build_object('label', l.label, 'class_id', l.class_id),
           l.label, 0.666667, 'majority', true, 3, now()
    FROM labeling_item i
    CROSS JOIN LATERAL (
        SELECT (i.id %% 3)::int AS class_id,
               (ARRAY['positive', 'negative', 'neutral'])[(i.id %% 3) + 1] AS label) l
    WHERE i.job_id = %(job)s AND (i.id %% 1000) < %(per_mille)s
"""
MARK_LABELED_SQL = """
    UPDATE labeling_item i SET status = 'labeled'
    FROM labeling_consolidatedlabel c
    WHERE c.item_id = i.id AND i.job_id = %(job)s AND c.job_id = %(job)s
"""
COUNT_LABELED_SQL = """
    WITH labeled AS (
        SELECT count(*) AS n FROM labeling_consolidatedlabel WHERE job_id = %(job)s
    ), cleared AS (
        UPDATE labeling_jobcounter SET items_labeled = 0 WHERE job_id = %(job)s AND shard > 0
    )
    UPDATE labeling_jobcounter SET items_labeled = labeled.n FROM labeled
    WHERE job_id = %(job)s AND shard = 0 RETURNING items_labeled
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--items", default="100000,1000000", help="job sizes, comma list (import and export)"
    )
    parser.add_argument(
        "--label-share",
        type=float,
        default=1.0,
        help="share of items given a label in SQL before the export (0 to 1)",
    )
    parser.add_argument("--web", default=DEFAULT_WEB, help="gunicorn config, gthread:WxT|sync:W")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--rss-interval", type=float, default=0.05, help="seconds")
    parser.add_argument("--no-export", action="store_true", help="measure the imports only")
    parser.add_argument(
        "--commit",
        default="",
        help="run the server from a frozen copy of this commit (e.g. HEAD), not the work tree",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run (< 1 minute)")
    parser.add_argument(
        "--no-record", action="store_true", help="print only; do not append to RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.items = "2000,20000"
    args.sizes = [int(n) for n in args.items.split(",") if n.strip()]
    args.web_config = WebConfig.parse(args.web)
    return args


def progress(message: str) -> None:
    print(f"[import_export {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def label_in_sql(job_id: int, share: float) -> dict[str, Any]:
    """Give a share of the job's items a consolidated label, as consolidation would."""
    started = time.perf_counter()
    params = {"job": job_id, "per_mille": round(share * 1000)}
    with db_connect() as conn:
        with conn.transaction():
            conn.execute(LABEL_SQL, params)
            conn.execute(MARK_LABELED_SQL, params)
            labeled = conn.execute(COUNT_LABELED_SQL, params).fetchone()[0]
        # Autovacuum is what would do this in production (it may be off on a dev server).
        conn.execute("VACUUM ANALYZE labeling_item")
        conn.execute("VACUUM ANALYZE labeling_consolidatedlabel")
    return {"labeled_items": labeled, "seconds": round(time.perf_counter() - started, 1)}


def export(stack: Stack, token: str, job_id: int, expected_lines: int, interval: float):
    """Stream one export to the end while sampling the gunicorn workers' RSS."""
    sampler = RssSampler(stack.web_pids(), interval=interval)
    sampler.start()
    conn = http.client.HTTPConnection(HOST, stack.port, timeout=600)
    started = time.perf_counter()
    conn.request(
        "GET",
        f"/api/v1/jobs/{job_id}/export?format=manifest",
        headers={"Authorization": f"Token {token}"},
    )
    response = conn.getresponse()
    first_byte = None
    size = lines = 0
    head = tail = b""
    while chunk := response.read(READ_BYTES):
        if first_byte is None:
            first_byte = time.perf_counter() - started
            head = chunk[: chunk.find(b"\n") + 1]
        size += len(chunk)
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-4096:]
    seconds = time.perf_counter() - started
    conn.close()
    memory = sampler.finish()
    if response.status != 200 or lines != expected_lines:
        raise RuntimeError(f"export: HTTP {response.status}, {lines} lines of {expected_lines}")
    first = json.loads(head)
    last = json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    return {
        "items": expected_lines,
        "seconds": round(seconds, 2),
        "first_byte_seconds": round(first_byte or 0, 3),
        "bytes": size,
        "megabytes_per_second": round(size / seconds / 2**20, 1),
        "lines_per_second": round(lines / seconds),
        "first_line_labeled": any(key.endswith("-metadata") for key in first),
        "last_line_labeled": any(key.endswith("-metadata") for key in last),
        **memory,
    }


def warm_up(stack: Stack, token: str, job_id: int) -> None:
    """Send small exports so that every worker has loaded its code before the baseline."""
    for _ in range(WARMUP_EXPORTS_PER_WORKER * len(stack.web_pids())):
        client = Client(stack.port, token)
        status, _, _ = client.request("GET", f"/api/v1/jobs/{job_id}/export?format=manifest")
        client.close()
        if status != 200:
            raise RuntimeError(f"warm-up export: HTTP {status}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.commit:
        use_commit(args.commit)
    figures: dict[str, Any] = {
        "machine": machine(),
        "code": git_commit(),
        "web": str(args.web_config),
        "quick": args.quick,
        "celery_concurrency": args.celery_concurrency,
        "postgres": postgres_settings(),
    }
    results = []
    with Stack(args.web_config, celery_concurrency=args.celery_concurrency) as stack:
        token = stack.create_manager("bench-manager")
        manager = Client(stack.port, token)
        team_id = create_team(manager, "bench-team")
        warm_job = create_job(manager, "warm-up", team_id)["id"]
        import_items(manager, warm_job, 100)
        jobs = []
        for size in args.sizes:
            job_id = create_job(manager, f"export-{size}", team_id)["id"]
            meter = CpuMeter(stack)
            meter.start()
            imported = import_items(manager, job_id, size)
            imported["cpu_share"] = meter.stop()
            progress(f"import {size}: {imported}")
            jobs.append((size, job_id, imported))
        manager.close()
        for size, job_id, imported in jobs:
            if args.no_export:
                results.append({"items": size, "import": imported, "labels": None, "export": None})
                continue
            labels = label_in_sql(job_id, args.label_share) if args.label_share > 0 else None
            stack.start_web(args.web_config)  # fresh workers: a clean baseline and VmHWM
            warm_up(stack, token, warm_job)
            exported = export(stack, token, job_id, size, args.rss_interval)
            progress(f"export {size}: {exported}")
            results.append(
                {
                    "items": size,
                    "import": imported,
                    "labels": {"written_in_sql_for_the_export": True, **labels} if labels else None,
                    "export": exported,
                }
            )
    figures["runs"] = results
    figures["targets"] = targets(results)
    record(command_line(), summary(figures), figures, write=not args.no_record)
    return 0


def targets(results: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_size = {r["items"]: r for r in results}
    if 1_000_000 in by_size:
        big = by_size[1_000_000]
        out["import_1m_seconds"] = big["import"]["total_seconds"]
        out["import_1m_ok"] = big["import"]["total_seconds"] < TARGET_IMPORT_1M_SECONDS
        if big["export"]:
            out["export_1m_seconds"] = big["export"]["seconds"]
            out["export_1m_ok"] = big["export"]["seconds"] < TARGET_EXPORT_1M_SECONDS
    if len(results) > 1 and results[0]["export"]:
        small, large = results[0]["export"], results[-1]["export"]
        out["rss_growth_mib_smallest_vs_largest"] = [
            small["rss_growth_mib"],
            large["rss_growth_mib"],
        ]
    return out


def summary(figures: dict[str, Any]) -> str:
    parts = [f"web {figures['web']}"]
    for run in figures["runs"]:
        imp, exp = run["import"], run["export"]
        if exp is None:
            parts.append(
                f"{run['items'] // 1000}k: import {imp['total_seconds']} s "
                f"({imp['items_per_second']} items/s, worker {imp['worker_seconds']} s)"
            )
            continue
        labeled = run["labels"]["labeled_items"] if run["labels"] else 0
        parts.append(
            f"{run['items'] // 1000}k: import {imp['total_seconds']} s "
            f"({imp['items_per_second']} items/s, worker {imp['worker_seconds']} s); "
            f"export {exp['seconds']} s, {exp['bytes'] / 2**20:.0f} MiB, "
            f"{labeled} lines labeled (in SQL), worker RSS +{exp['rss_growth_mib']} MiB "
            f"(VmHWM {exp['vm_hwm_mib']} MiB)"
        )
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
