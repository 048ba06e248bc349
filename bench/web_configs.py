"""Which gunicorn configuration serves the labeling loop best on this machine (issue 20).

One stack as bench/claim.py runs it (its own PostgreSQL cluster with default settings, a
Celery worker with beat, the default log level), one job made through the public API; then,
for each ``--web`` configuration in turn, gunicorn is restarted with it and K labelers (50)
work for ``--seconds`` after ``--warmup`` seconds (a restarted server's first requests load
code and open connections). ``--rounds`` passes over the list, each in the reverse order of
the one before, so that the machine's other load and the job's progress fall on every
configuration alike. Per configuration: answers/s and CPU per answer of the web workers, the
database and Celery (the steadier figure), per round and their mean.

    .venv/bin/python bench/web_configs.py --web gthread:2x8,gthread:2x4,gthread:4x2,sync:4
"""

import argparse
import sys
import time
from typing import Any

import _harness
from _harness import OUT, Stack, WebConfig, command_line, create_team, record
from _pgcluster import OwnPostgres
from _probes import machine
from claim import Side, code_of, cpu_ms


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", default="gthread:2x8,gthread:2x4,gthread:4x2,sync:4")
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pg-port", type=int, default=8340)
    parser.add_argument("--redis-db", type=int, default=15)
    parser.add_argument("--no-record", action="store_true")
    return parser.parse_args(argv)


def progress(message: str) -> None:
    print(f"[web {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    configs = [WebConfig.parse(text) for text in args.web.split(",") if text.strip()]
    cluster = OwnPostgres(OUT / f"pg-{args.pg_port}", args.pg_port, autovacuum=True)
    side = Side("web", _harness.APP_DIR, cluster, f"redis://127.0.0.1:6379/{args.redis_db}")
    runs: dict[str, list[dict[str, Any]]] = {str(config): [] for config in configs}
    with (
        cluster,
        Stack(
            configs[0],
            app_dir=side.app_dir,
            database_url=side.database_url,
            admin_url=cluster.admin_url,
            redis_url=side.redis_url,
            postgres_pids=cluster.pids,
            beat=True,
            log_level=None,
            name=f"web-{args.pg_port}",
        ) as stack,
    ):
        side.stack = stack
        side.manager_token = stack.create_manager("bench-manager")
        manager = side.manager()
        side.team_id = create_team(manager, "bench-team")
        manager.close()
        about = machine(cluster.admin_url)
        job_id, imported = side.new_job(args.items, 10_000)
        progress(f"imported {imported}")
        for turn in range(args.rounds):
            for config in configs if turn % 2 == 0 else list(reversed(configs)):
                stack.start_web(config)
                _, tokens = side.labelers(args.labelers)
                result = side.run(job_id, tokens, seconds=args.seconds, warmup=args.warmup)
                runs[str(config)].append(result)
                progress(
                    f"{config}: {result['answers_per_second']} answers/s, CPU/answer web+db+"
                    f"celery {result['gunicorn_cpu_ms_per_answer']}+"
                    f"{result['postgres_cpu_ms_per_answer']}+"
                    f"{result.get('celery_cpu_ms_per_answer')} ms, next/submit p99 "
                    f"{result['next_p99_ms']}/{result['submit_p99_ms']} ms, other load "
                    f"{result['cpu_share']['other']:.0%}, violations "
                    f"{'0' if result['guarantees']['all_zero'] else 'FOUND'}"
                )
    table = {
        name: {
            "answers_per_second": [r["answers_per_second"] for r in results],
            "cpu_ms_per_answer": [cpu_ms(r) for r in results],
            "web_cpu_ms_per_answer": [r["gunicorn_cpu_ms_per_answer"] for r in results],
            "mean_answers_per_second": round(
                sum(r["answers_per_second"] for r in results) / len(results), 1
            ),
            "mean_cpu_ms_per_answer": round(sum(cpu_ms(r) or 0 for r in results) / len(results), 2),
            "other_load": [round(r["cpu_share"]["other"], 2) for r in results],
        }
        for name, results in runs.items()
    }
    figures = {
        "machine": about,
        "code": code_of(side.app_dir),
        "items": args.items,
        "labelers": args.labelers,
        "configs": table,
        "runs": runs,
    }
    text = "; ".join(
        f"{name}: {row['mean_answers_per_second']}/s, "
        f"{row['mean_cpu_ms_per_answer']} ms CPU/answer "
        f"(rounds {row['answers_per_second']}, other load {row['other_load']})"
        for name, row in table.items()
    )
    record(command_line(), f"K={args.labelers} on {args.items} items; {text}", figures,
           write=not args.no_record)  # fmt: skip
    ok = all(r["guarantees"]["all_zero"] for results in runs.values() for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
