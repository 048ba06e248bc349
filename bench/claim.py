"""Benchmark of the claim/submit loop over the REST API, run the way users run Quorum.

Starts its own PostgreSQL cluster with the server's default settings (autovacuum on), and
against it the stack of README's production commands: gunicorn gthread 2 x 8, a Celery
worker with beat, DEBUG=0 and the default log level. Sets a job up through the public API
with default settings (text classification, 3 labels, 3 workers per item, 50 labelers),
imports its items as JSON Lines in chunks of 10,000, starts it and puts load on it at once:
no warm-up, no VACUUM, no settling, nothing a deployment would not do.

  scenario ``sizes`` (default): for each job size (10k, 100k, 1M items) closed-loop phases
  of 30 s at K = 1, 10, 50 labelers without think time; on the biggest job, one labeler who
  has already answered 50,000 of its items asks for tasks (issue 14 point 7); on the 100k
  job, 200 labelers with a mean think time of 3 s.
  scenario ``autovacuum-off``: the same cluster with autovacuum off, one 100k job, K = 50
  for 10 minutes, figures per minute.

After every phase: the guarantee violations counted in SQL (all must be 0), the top
statements from pg_stat_statements, dead row versions and HOT updates of the hot tables, and
EXPLAIN (ANALYZE, BUFFERS) of the claim's head walk for the busiest labeler.

``--compare DIR`` runs the same scenario against a second checkout (the previous head) in
the same run, each with a cluster, Redis database and stack of its own, phase by phase
interleaved (new, base, then base, new, ...), so the machine's noise falls on both.

Prints one JSON object and appends a row to bench/RESULTS.md (one per side).

    .venv/bin/python bench/claim.py --compare /tmp/t20-base
    .venv/bin/python bench/claim.py --scenario autovacuum-off --compare /tmp/t20-base
    .venv/bin/python bench/claim.py --quick            # a smoke run in about a minute
"""

import argparse
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _harness
from _diagnose import (
    busiest_worker,
    explain_head_walk,
    seed_history,
    statements_reset,
    statements_top,
    table_stats,
)
from _harness import (
    OUT,
    Client,
    Stack,
    WebConfig,
    command_line,
    create_job,
    create_labelers,
    create_team,
    import_items,
    record,
    start_job,
    use_commit,
)
from _load import check_guarantees, release_leases, run_labelers
from _pgcluster import OwnPostgres
from _phase_watch import PhaseWatch
from _probes import DB_NAME, machine

DEFAULT_WEB = "gthread:2x8"
TARGET_ANSWERS_PER_SECOND = 200
TARGET_CPU_MS_PER_ANSWER = 6.0
TARGET_THINK_NEXT_P99_MS = 50
TARGET_HISTORY_NEXT_P50_MS = 10
TARGET_HISTORY_NEXT_P99_MS = 50
MAX_FALL_SIZES = 0.10
MAX_FALL_AUTOVACUUM_OFF = 0.20


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("sizes", "autovacuum-off"), default="sizes")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="job sizes (items)")
    parser.add_argument("--labelers", default="1,10,50", help="K of the closed-loop phases")
    parser.add_argument(
        "--big-labelers", default="50", help="K of the phases on the biggest job (comma list)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument("--warmup", type=float, default=0, help="seconds before each window")
    parser.add_argument("--chunk", type=int, default=10_000, help="lines per import (0: one)")
    parser.add_argument(
        "--history", type=int, default=50_000, help="answers of the long-history labeler"
    )
    parser.add_argument("--think-labelers", type=int, default=200)
    parser.add_argument("--think-mean", type=float, default=3.0, help="mean think time (s)")
    parser.add_argument("--think-seconds", type=float, default=30)
    parser.add_argument("--minutes", type=int, default=10, help="autovacuum-off: minutes")
    parser.add_argument("--web", default=DEFAULT_WEB, help="gunicorn config, gthread:WxT|sync:W")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--log-level", default="", help="the server's LOG_LEVEL (default: unset)")
    parser.add_argument("--pg-port", type=int, default=8340, help="the bench's own cluster")
    parser.add_argument("--redis-port", type=int, default=6379, help="Redis on 127.0.0.1")
    parser.add_argument("--redis-db", type=int, default=15, help="Redis database")
    parser.add_argument(
        "--compare",
        default="",
        help="a second checkout (the previous head) run in the same run, interleaved; its "
        "cluster listens on --pg-port + 1 and it uses Redis database --redis-db - 1",
    )
    parser.add_argument(
        "--commit", default="", help="run this side from a frozen copy of this commit (HEAD)"
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run (~1 minute)")
    parser.add_argument(
        "--no-record", action="store_true", help="print only; do not append to RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = "2000,10000"
        args.labelers = "1,10"
        args.big_labelers = "10"
        args.seconds = min(args.seconds, 4)
        args.history = min(args.history, 2_000)
        args.chunk = min(args.chunk, 1_000)
        args.think_labelers = min(args.think_labelers, 20)
        args.think_mean = min(args.think_mean, 0.5)
        args.think_seconds = min(args.think_seconds, 4)
        args.minutes = min(args.minutes, 1)
    args.size_list = [int(n) for n in args.sizes.split(",") if n.strip()]
    args.labeler_counts = [int(k) for k in args.labelers.split(",") if k.strip()]
    args.big_counts = [int(k) for k in args.big_labelers.split(",") if k.strip()]
    args.web_config = WebConfig.parse(args.web)
    return args


@dataclass
class Side:
    """One checkout under test, with its own cluster, Redis database and stack."""

    name: str
    app_dir: Path
    cluster: OwnPostgres
    redis_url: str
    stack: Stack | None = None
    manager_token: str = ""
    team_id: int = 0
    batches: int = 0
    imported_at: dict[int, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.cluster.database_url(DB_NAME)

    def manager(self) -> Client:
        return Client(self.stack.port, self.manager_token)

    def new_job(self, items: int, chunk: int) -> tuple[int, dict[str, Any]]:
        manager = self.manager()
        job = create_job(manager, f"bench-{items}", self.team_id)
        imported = import_items(manager, job["id"], items, chunk=chunk)
        start_job(manager, job["id"])
        manager.close()
        self.imported_at[job["id"]] = time.monotonic()
        return job["id"], imported

    def labelers(self, count: int) -> tuple[str, list[str]]:
        self.batches += 1
        prefix = f"l{self.batches:02d}"
        manager = self.manager()
        tokens = create_labelers(manager, self.team_id, prefix, count)
        manager.close()
        return prefix, tokens

    def run(
        self, job_id: int, tokens: list[str], *, diagnose: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        if diagnose:
            statements_reset(self.cluster.admin_url)
            watch = PhaseWatch(self.cluster.pids, self.cluster.admin_url, self.database_url)
            watch.start()
        since_import = time.monotonic() - self.imported_at.get(job_id, time.monotonic())
        held, result = run_labelers(self.stack, job_id, tokens, **kwargs)
        result["seconds_since_import"] = round(since_import, 1)
        if diagnose:
            result["after_import"] = watch.stop()
        result["guarantees"] = check_guarantees(job_id, self.database_url)
        if diagnose:
            result["top_statements"] = statements_top(self.cluster.admin_url, DB_NAME)
            result["tables"] = table_stats(self.database_url)
            worker = busiest_worker(self.database_url, job_id)
            if worker is not None:
                result["head_walk"] = explain_head_walk(self.database_url, job_id, worker)
        # Give the held leases back, as a polite client does (a closed tab would not).
        result["leases_released_after"] = release_leases(self.stack, held)
        return result


def progress(message: str) -> None:
    print(f"[claim {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_ms(result: dict[str, Any]) -> float | None:
    web, db = result.get("gunicorn_cpu_ms_per_answer"), result.get("postgres_cpu_ms_per_answer")
    celery = result.get("celery_cpu_ms_per_answer") or 0
    return None if web is None or db is None else round(web + db + celery, 2)


def brief(result: dict[str, Any]) -> str:
    walk = result.get("head_walk") or {}
    return (
        f"{result['answers_per_second']} answers/s, next p50/p99 {result['next_p50_ms']}/"
        f"{result['next_p99_ms']} ms, submit p50/p99 {result['submit_p50_ms']}/"
        f"{result['submit_p99_ms']} ms, errors {result['errors'] or 0}, "
        "CPU/answer web+db+celery "
        f"{result['gunicorn_cpu_ms_per_answer']}+{result['postgres_cpu_ms_per_answer']}+"
        f"{result.get('celery_cpu_ms_per_answer')} ms, client "
        f"{result['generator_cpu_ms_per_answer']} ms, "
        f"other load {result['cpu_share']['other']:.0%}, head walk "
        f"{walk.get('queue_rows_read')} rows, violations "
        f"{'0' if result['guarantees']['all_zero'] else result['guarantees']['violations']}"
        f"{after_import(result)}"
    )


def after_import(result: dict[str, Any]) -> str:
    watch = result.get("after_import")
    if not watch:
        return ""
    return (
        f", {result.get('seconds_since_import')} s after the import: PostgreSQL CPU s "
        f"{watch['postgres_cpu_seconds_by_kind']}, "
        f"autovacuum seen {watch['autovacuum_seen_seconds']}"
        f", text backlog {watch['text_backlog_before']} -> {watch['text_backlog_after']}"
    )


def interleaved(sides: list[Side], turn: int) -> list[Side]:
    """Alternate which side goes first, phase by phase."""
    return sides if turn % 2 == 0 else list(reversed(sides))


def scenario_sizes(args: argparse.Namespace, sides: list[Side]) -> None:
    turn = 0
    biggest = max(args.size_list)
    for size in args.size_list:
        jobs = {}
        for side in sides:
            progress(f"{side.name}: importing {size} items in chunks of {args.chunk}")
            jobs[side.name], imported = side.new_job(size, args.chunk)
            side.figures.setdefault("imports", {})[str(size)] = imported
            progress(f"{side.name}: imported {imported}")
        counts = args.big_counts if size == biggest and len(args.size_list) > 1 else None
        for count in counts or args.labeler_counts:
            for side in interleaved(sides, turn):
                _, tokens = side.labelers(count)
                result = side.run(jobs[side.name], tokens, seconds=args.seconds, warmup=args.warmup)
                result["items"] = size
                side.figures.setdefault("phases", []).append(result)
                progress(f"{side.name} {size // 1000}k K={count}: {brief(result)}")
            turn += 1
        if size == biggest and args.history:
            for side in interleaved(sides, turn):
                prefix, tokens = side.labelers(1)
                seeded = seed_history(
                    side.database_url, jobs[side.name], f"{prefix}-0000", args.history
                )
                result = side.run(jobs[side.name], tokens, seconds=args.seconds, warmup=args.warmup)
                result.update(items=size, **seeded)
                side.figures["history"] = result
                progress(f"{side.name} history {seeded}: {brief(result)}")
            turn += 1
        if args.think_labelers and size == sorted(args.size_list)[len(args.size_list) // 2]:
            for side in interleaved(sides, turn):
                _, tokens = side.labelers(args.think_labelers)
                result = side.run(
                    jobs[side.name],
                    tokens,
                    seconds=args.think_seconds,
                    warmup=max(args.warmup, args.think_mean * 2),
                    think_mean=args.think_mean,
                )
                result["items"] = size
                side.figures["think_time"] = result
                progress(f"{side.name} think K={args.think_labelers}: {brief(result)}")
            turn += 1


def scenario_autovacuum_off(args: argparse.Namespace, sides: list[Side]) -> None:
    """K = 50 on a 100k job for ``--minutes`` one-minute windows per side, interleaved minute
    by minute; the same labelers throughout (a lease held across a window is answered first)."""
    size = args.size_list[min(1, len(args.size_list) - 1)]
    jobs, tokens = {}, {}
    count = max(args.big_counts)
    for side in sides:
        progress(f"{side.name}: importing {size} items in chunks of {args.chunk}")
        jobs[side.name], side.figures["import"] = side.new_job(size, args.chunk)
        _, tokens[side.name] = side.labelers(count)
    window = 4.0 if args.quick else 60.0
    for minute in range(args.minutes):
        for side in interleaved(sides, minute):
            result = side.run(
                jobs[side.name], tokens[side.name], seconds=window, warmup=0,
                diagnose=minute in (0, args.minutes - 1),
            )  # fmt: skip
            result.update(items=size, minute=minute + 1)
            side.figures.setdefault("minutes", []).append(result)
            progress(f"{side.name} minute {minute + 1} K={count}: {brief(result)}")


def targets(args: argparse.Namespace, figures: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "phases" in figures:
        k50 = {r["items"]: r for r in figures["phases"] if r["labelers"] == 50}
        if k50:
            rates = [k50[n]["answers_per_second"] for n in sorted(k50)]
            main = k50.get(100_000) or k50[sorted(k50)[len(k50) // 2]]
            out["k50_answers_per_second_by_items"] = {str(n): k50[n]["answers_per_second"]
                                                      for n in sorted(k50)}  # fmt: skip
            out["k50_cpu_ms_per_answer_by_items"] = {str(n): cpu_ms(k50[n]) for n in sorted(k50)}
            out["k50_main_ok"] = (
                main["answers_per_second"] >= TARGET_ANSWERS_PER_SECOND
                and (cpu_ms(main) or 1e9) <= TARGET_CPU_MS_PER_ANSWER
            )
            out["k50_largest_fall"] = round(1 - min(rates) / max(rates[0], 0.1), 3)
            out["k50_fall_ok"] = out["k50_largest_fall"] <= MAX_FALL_SIZES
    if "history" in figures:
        h = figures["history"]
        out["history_next_p50_ms"], out["history_next_p99_ms"] = h["next_p50_ms"], h["next_p99_ms"]
        out["history_ok"] = (h["next_p50_ms"] or 1e9) < TARGET_HISTORY_NEXT_P50_MS and (
            h["next_p99_ms"] or 1e9
        ) < TARGET_HISTORY_NEXT_P99_MS
    if "think_time" in figures:
        out["think_next_p99_ms"] = figures["think_time"]["next_p99_ms"]
        out["think_next_p99_ok"] = (out["think_next_p99_ms"] or 1e9) < TARGET_THINK_NEXT_P99_MS
    if "minutes" in figures:
        rates = [r["answers_per_second"] for r in figures["minutes"]]
        out["per_minute_answers_per_second"] = rates
        out["fall_first_to_last"] = round(1 - rates[-1] / max(rates[0], 0.1), 3)
        out["fall_first_to_worst"] = round(1 - min(rates) / max(rates[0], 0.1), 3)
        out["autovacuum_off_ok"] = out["fall_first_to_worst"] <= MAX_FALL_AUTOVACUUM_OFF
    out["violations_all_zero"] = all(r["guarantees"]["all_zero"] for r in all_runs(figures))
    return out


def all_runs(figures: dict[str, Any]) -> list[dict[str, Any]]:
    runs = [*figures.get("phases", []), *figures.get("minutes", [])]
    return runs + [figures[k] for k in ("history", "think_time") if k in figures]


def summary(args: argparse.Namespace, side: Side) -> str:
    figures = side.figures
    parts = [f"**{side.name}** scenario {args.scenario}, own PostgreSQL "
             f"(autovacuum {figures['postgres'].get('autovacuum')}), web {figures['web']}, "
             "beat on, chunks of " + str(args.chunk)]  # fmt: skip
    for r in figures.get("phases", []):
        parts.append(
            f"K={r['labelers']} on {r['items'] // 1000}k: {r['answers_per_second']}/s, next "
            f"p50/p99 {r['next_p50_ms']}/{r['next_p99_ms']} ms, CPU/answer {cpu_ms(r)} ms"
        )
    if "history" in figures:
        h = figures["history"]
        parts.append(
            f"1 labeler with {h['answers_seeded']} answers on {h['items'] // 1000}k: "
            f"next p50/p99 {h['next_p50_ms']}/{h['next_p99_ms']} ms, "
            f"{h['answers_per_second']}/s, CPU/answer {cpu_ms(h)} ms"
        )
    if "think_time" in figures:
        t = figures["think_time"]
        parts.append(
            f"{t['labelers']} thinking: next p50/p99 {t['next_p50_ms']}/{t['next_p99_ms']} ms"
        )
    if "minutes" in figures:
        parts.append(
            "K=50 per minute: "
            + ", ".join(f"{r['answers_per_second']}" for r in figures["minutes"])
            + " answers/s; CPU/answer "
            + ", ".join(f"{cpu_ms(r)}" for r in figures["minutes"])
            + " ms"
        )
    gen = max((r["cpu_share"]["generator"] for r in all_runs(figures)), default=0)
    parts.append(f"client CPU ≤ {gen:.0%} of the machine")
    ok = figures["targets"]["violations_all_zero"]
    parts.append("violations: " + ("all 0" if ok else "FOUND (see json)"))
    return "; ".join(parts)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.commit:
        use_commit(args.commit)
    sides = [
        Side(
            "new",
            _harness.APP_DIR,
            OwnPostgres(OUT / f"pg-{args.pg_port}", args.pg_port,
                        autovacuum=args.scenario != "autovacuum-off"),
            f"redis://127.0.0.1:{args.redis_port}/{args.redis_db}",
        )
    ]  # fmt: skip
    if args.compare:
        port = args.pg_port + 1
        sides.append(
            Side(
                "base",
                Path(args.compare).resolve(),
                OwnPostgres(OUT / f"pg-{port}", port,
                            autovacuum=args.scenario != "autovacuum-off"),
                f"redis://127.0.0.1:{args.redis_port}/{args.redis_db - 1}",
            )
        )  # fmt: skip
    with ExitStack() as stack:
        for side in sides:
            stack.enter_context(side.cluster)
            side.stack = stack.enter_context(
                Stack(
                    args.web_config,
                    celery_concurrency=args.celery_concurrency,
                    app_dir=side.app_dir,
                    database_url=side.database_url,
                    admin_url=side.cluster.admin_url,
                    redis_url=side.redis_url,
                    postgres_pids=side.cluster.pids,
                    beat=True,
                    log_level=args.log_level or None,
                    name=f"{side.name}-{side.cluster.port}",
                )
            )
            side.manager_token = side.stack.create_manager("bench-manager")
            manager = side.manager()
            side.team_id = create_team(manager, "bench-team")
            manager.close()
            side.figures.update(
                side=side.name,
                machine=machine(side.cluster.admin_url),
                code=code_of(side.app_dir),
                web=str(args.web_config),
                quick=args.quick,
                postgres=side.cluster.settings(),
                log_level=args.log_level or "default (INFO)",
                celery="worker --beat, concurrency " + str(args.celery_concurrency),
                import_chunk=args.chunk,
            )
        if args.scenario == "sizes":
            scenario_sizes(args, sides)
        else:
            scenario_autovacuum_off(args, sides)
    ok = True
    for side in sides:
        side.figures["targets"] = targets(args, side.figures)
        ok &= side.figures["targets"]["violations_all_zero"]
        record(command_line(), summary(args, side), side.figures, write=not args.no_record)
    return 0 if ok else 1


def code_of(app_dir: Path) -> str:
    saved = _harness.APP_DIR
    _harness.APP_DIR = app_dir
    try:
        return _harness.git_commit()
    finally:
        _harness.APP_DIR = saved


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
