"""Benchmark of the claim/submit loop over the REST API, with the guarantees checked in SQL.

Starts its own stack (fresh ``quorum_bench`` database, gunicorn, a Celery worker), sets a job
up through the API, then runs labeler threads against it:

  (a) closed loop, no think time, K = 1, 10, 50 labelers;
  (b) 200 labelers with exponential think time (mean 3 s);
  (c) after each run, the guarantee violations counted from the database (all must be 0);
  and (a) at K = 50 again on a 1,000,000-item job.

Optionally (``--sweep``) it first compares gunicorn worker configurations at K = 50.
Prints one JSON object and appends a row to bench/RESULTS.md.

    .venv/bin/python bench/claim.py            # the full run (about 10 minutes)
    .venv/bin/python bench/claim.py --quick    # a smoke run in under a minute
"""

import argparse
import sys
import time
from typing import Any

from _harness import (
    Client,
    Stack,
    WebConfig,
    command_line,
    create_job,
    create_labelers,
    create_team,
    git_commit,
    import_items,
    record,
    start_job,
    use_commit,
)
from _load import check_guarantees, release_leases, run_labelers, vacuum_hot_tables
from _probes import machine, postgres_settings

DEFAULT_WEB = "gthread:2x8"
DEFAULT_SWEEP = "gthread:2x4,gthread:2x8,gthread:3x4,gthread:4x4,gthread:4x8,sync:5"
TARGET_ANSWERS_PER_SECOND = 200
TARGET_THINK_NEXT_P99_MS = 50


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="items of the main job")
    parser.add_argument(
        "--big-items", type=int, default=1_000_000, help="items of the big job (0: skip it)"
    )
    parser.add_argument("--seconds", type=float, default=40, help="window of each closed run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each window")
    parser.add_argument(
        "--labelers", default="1,10,50", help="K values of the closed-loop runs (comma list)"
    )
    parser.add_argument("--big-labelers", type=int, default=50, help="K on the big job")
    parser.add_argument("--think-labelers", type=int, default=200)
    parser.add_argument("--think-mean", type=float, default=3.0, help="mean think time (s)")
    parser.add_argument("--think-seconds", type=float, default=60)
    parser.add_argument("--web", default=DEFAULT_WEB, help="gunicorn config, gthread:WxT|sync:W")
    parser.add_argument(
        "--sweep",
        nargs="?",
        const=DEFAULT_SWEEP,
        default="",
        help=f"compare gunicorn configs at K=--sweep-labelers first (default list: "
        f"{DEFAULT_SWEEP})",
    )
    parser.add_argument("--sweep-labelers", type=int, default=50)
    parser.add_argument("--sweep-seconds", type=float, default=20)
    parser.add_argument(
        "--sweep-repeat", type=int, default=2, help="rounds over the configs (interleaved)"
    )
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument(
        "--analyze-after-import",
        action="store_true",
        help="run ANALYZE on the item table after each import (the proposed import fix)",
    )
    parser.add_argument(
        "--commit",
        default="",
        help="run the server from a frozen copy of this commit (e.g. HEAD), not the work tree",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not VACUUM (ANALYZE) the hot tables between runs (autovacuum's job)",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run (< 1 minute)")
    parser.add_argument(
        "--no-record", action="store_true", help="print only; do not append to RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.items = min(args.items, 2_000)
        args.big_items = min(args.big_items, 10_000)
        args.seconds = min(args.seconds, 4)
        args.warmup = min(args.warmup, 1)
        args.labelers = "1,10"
        args.big_labelers = min(args.big_labelers, 10)
        args.think_labelers = min(args.think_labelers, 20)
        args.think_mean = min(args.think_mean, 0.5)
        args.think_seconds = min(args.think_seconds, 5)
        args.sweep_seconds = min(args.sweep_seconds, 3)
        args.sweep_labelers = min(args.sweep_labelers, 10)
    args.labeler_counts = [int(k) for k in args.labelers.split(",") if k.strip()]
    args.web_config = WebConfig.parse(args.web)
    args.sweep_configs = [WebConfig.parse(c) for c in args.sweep.split(",") if c.strip()]
    return args


class Bench:
    """One job's worth of setup helpers around a running stack."""

    def __init__(self, stack: Stack, manager_token: str, team_id: int, analyze: bool, vacuum: bool):
        self.stack = stack
        self.analyze = analyze
        self.vacuum = vacuum
        self.manager_token = manager_token
        self.team_id = team_id
        self.batches = 0

    def manager(self) -> Client:
        return Client(self.stack.port, self.manager_token)

    def new_job(self, name: str, items: int) -> tuple[int, dict[str, Any]]:
        manager = self.manager()
        job = create_job(manager, name, self.team_id)
        imported = import_items(manager, job["id"], items, analyze=self.analyze)
        start_job(manager, job["id"])
        manager.close()
        if self.vacuum:
            imported["settle_seconds_after"] = vacuum_hot_tables(checkpoint=True)
        return job["id"], imported

    def labelers(self, count: int) -> list[str]:
        self.batches += 1
        manager = self.manager()
        tokens = create_labelers(manager, self.team_id, f"l{self.batches:02d}", count)
        manager.close()
        return tokens

    def run(self, job_id: int, count: int, **kwargs: Any) -> dict[str, Any]:
        held, result = run_labelers(self.stack, job_id, self.labelers(count), **kwargs)
        result["web"] = str(self.stack.web_config)
        result["guarantees"] = check_guarantees(job_id)
        # Clean up before the next run: give the held leases back, vacuum like autovacuum.
        result["leases_released_after"] = release_leases(self.stack, held)
        if self.vacuum:
            result["vacuum_seconds_after"] = vacuum_hot_tables()
        return result


def progress(message: str) -> None:
    print(f"[claim {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def brief(result: dict[str, Any]) -> str:
    return (
        f"{result['answers_per_second']} answers/s, next p50/p99 {result['next_p50_ms']}/"
        f"{result['next_p99_ms']} ms, submit p50/p99 {result['submit_p50_ms']}/"
        f"{result['submit_p99_ms']} ms, errors {result['errors'] or 0}, server CPU/answer "
        f"{result['gunicorn_cpu_ms_per_answer']}+{result['postgres_cpu_ms_per_answer']} ms, "
        f"other load {result['cpu_share']['other']:.0%}, "
        f"violations {'0' if result['guarantees']['all_zero'] else result['guarantees']}"
    )


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
        "analyze_after_import": args.analyze_after_import,
        "vacuum_between_runs": not args.no_vacuum,
        "postgres": postgres_settings(),
    }
    with Stack(args.web_config, celery_concurrency=args.celery_concurrency) as stack:
        token = stack.create_manager("bench-manager")
        manager = Client(stack.port, token)
        team_id = create_team(manager, "bench-team")
        bench = Bench(stack, token, team_id, args.analyze_after_import, not args.no_vacuum)
        manager.close()

        progress(f"importing {args.items} items")
        job_id, figures["import_main"] = bench.new_job(f"bench-{args.items}", args.items)
        progress(f"imported: {figures['import_main']}")

        sweep = []
        for _ in range(args.sweep_repeat if args.sweep_configs else 0):
            for config in args.sweep_configs:
                stack.start_web(config)
                result = bench.run(
                    job_id, args.sweep_labelers, seconds=args.sweep_seconds, warmup=args.warmup
                )
                progress(f"sweep {config} K={args.sweep_labelers}: {brief(result)}")
                sweep.append(result)
        if sweep:
            figures["sweep"] = sweep
            figures["sweep_by_config"] = sweep_by_config(sweep)
        if stack.web_config != args.web_config:
            stack.start_web(args.web_config)

        closed = []
        for count in args.labeler_counts:
            result = bench.run(job_id, count, seconds=args.seconds, warmup=args.warmup)
            progress(f"closed K={count}: {brief(result)}")
            closed.append(result)
        figures["closed_loop"] = closed

        result = bench.run(
            job_id,
            args.think_labelers,
            seconds=args.think_seconds,
            warmup=max(args.warmup, args.think_mean * 2),
            think_mean=args.think_mean,
        )
        progress(f"think K={args.think_labelers}: {brief(result)}")
        figures["think_time"] = result

        if args.big_items:
            progress(f"importing {args.big_items} items")
            big_id, figures["import_big"] = bench.new_job(f"bench-{args.big_items}", args.big_items)
            progress(f"imported: {figures['import_big']}")
            result = bench.run(big_id, args.big_labelers, seconds=args.seconds, warmup=args.warmup)
            progress(f"closed K={args.big_labelers} on {args.big_items}: {brief(result)}")
            figures["big_job"] = {"items": args.big_items, **result}

    figures["targets"] = targets(args, figures)
    record(command_line(), summary(args, figures), figures, write=not args.no_record)
    return 0 if all(r["guarantees"]["all_zero"] for r in all_runs(figures)) else 1


def sweep_by_config(sweep: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per gunicorn config: answers/s and p99s of each round, and the server CPU per answer."""
    out: dict[str, dict[str, Any]] = {}
    for r in sweep:
        row = out.setdefault(
            r["web"],
            {"answers_per_second": [], "next_p99_ms": [], "submit_p99_ms": [], "cpu_ms": []},
        )
        row["answers_per_second"].append(r["answers_per_second"])
        row["next_p99_ms"].append(r["next_p99_ms"])
        row["submit_p99_ms"].append(r["submit_p99_ms"])
        row["cpu_ms"].append(
            round(
                (r["gunicorn_cpu_ms_per_answer"] or 0) + (r["postgres_cpu_ms_per_answer"] or 0), 1
            )
        )
    for row in out.values():
        row["mean_answers_per_second"] = round(
            sum(row["answers_per_second"]) / len(row["answers_per_second"]), 1
        )
    return out


def all_runs(figures: dict[str, Any]) -> list[dict[str, Any]]:
    runs = [*figures.get("sweep", []), *figures["closed_loop"], figures["think_time"]]
    return runs + ([figures["big_job"]] if "big_job" in figures else [])


def targets(args: argparse.Namespace, figures: dict[str, Any]) -> dict[str, Any]:
    by_k = {r["labelers"]: r for r in figures["closed_loop"]}
    main_k = by_k.get(args.big_labelers) or figures["closed_loop"][-1]
    out: dict[str, Any] = {
        "answers_per_second_main": main_k["answers_per_second"],
        "answers_per_second_main_ok": main_k["answers_per_second"] >= TARGET_ANSWERS_PER_SECOND,
        "think_next_p99_ms": figures["think_time"]["next_p99_ms"],
        "think_next_p99_ok": (figures["think_time"]["next_p99_ms"] or 1e9)
        < TARGET_THINK_NEXT_P99_MS,
        "violations_all_zero": all(r["guarantees"]["all_zero"] for r in all_runs(figures)),
    }
    if "big_job" in figures:
        big = figures["big_job"]["answers_per_second"]
        out["answers_per_second_big"] = big
        out["big_vs_main_ratio"] = round(big / max(main_k["answers_per_second"], 0.1), 2)
    return out


def summary(args: argparse.Namespace, figures: dict[str, Any]) -> str:
    parts = [f"web {figures['web']}"]
    if "sweep" in figures:
        parts.append(
            "sweep K={}: {}".format(
                args.sweep_labelers,
                ", ".join(
                    f"{web} {'/'.join(str(a) for a in row['answers_per_second'])}/s"
                    for web, row in figures["sweep_by_config"].items()
                ),
            )
        )
    for r in figures["closed_loop"]:
        parts.append(
            f"K={r['labelers']} on {args.items // 1000}k: {r['answers_per_second']} answers/s, "
            f"next p50/p99 {r['next_p50_ms']}/{r['next_p99_ms']} ms, "
            f"submit p50/p99 {r['submit_p50_ms']}/{r['submit_p99_ms']} ms, "
            f"other load {r['cpu_share']['other']:.0%}"
        )
    t = figures["think_time"]
    parts.append(
        f"{t['labelers']} labelers think {t['think_mean_seconds']} s: {t['answers_per_second']} "
        f"answers/s, next p50/p99 {t['next_p50_ms']}/{t['next_p99_ms']} ms, "
        f"submit p50/p99 {t['submit_p50_ms']}/{t['submit_p99_ms']} ms, "
        f"other load {t['cpu_share']['other']:.0%}"
    )
    if "big_job" in figures:
        b = figures["big_job"]
        parts.append(
            f"K={b['labelers']} on {b['items'] // 1000}k: {b['answers_per_second']} answers/s, "
            f"next p99 {b['next_p99_ms']} ms, submit p99 {b['submit_p99_ms']} ms, "
            f"other load {b['cpu_share']['other']:.0%}"
        )
    gen = max(r["cpu_share"]["generator"] for r in all_runs(figures))
    capacity = [c for r in figures["closed_loop"] if (c := r["capacity_answers_per_second"])]
    if capacity:
        parts.append(f"server CPU capacity {min(capacity)}–{max(capacity)} answers/s")
    parts.append(f"generator CPU ≤ {gen:.0%} of the machine")
    ok = figures["targets"]["violations_all_zero"]
    parts.append("violations: " + ("all 0" if ok else "FOUND (see json)"))
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
