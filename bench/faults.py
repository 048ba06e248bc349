"""Fault runs: 20 labelers on a 20,000-item job while one part of the stack fails.

The scenarios of tests/faults/ (its harness, tests/faults/harness.py) with longer phases: a
PostgreSQL and a Redis of its own on ports 8190 and 8191 (never the shared ones), Quorum by
``manage.py serve`` on 8192, and in separate runs no fault (the baseline), a gunicorn worker
SIGKILLed, the Celery worker's process group SIGKILLed in the middle of an import, Redis
restarted (3 s down) and PostgreSQL restarted (fast shutdown). Each run prints its figures as
one JSON object and appends one dated row to bench/RESULTS.md.

    .venv/bin/python bench/faults.py                       # all five (about 12 minutes)
    .venv/bin/python bench/faults.py --faults redis-restart --no-record
"""

import argparse
import sys
from pathlib import Path

import _harness
from _harness import OUT, command_line, git_commit, install_signal_handlers, record, use_commit
from _probes import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.checks import summary  # noqa: E402
from tests.faults.harness import FAULTS, RUN_DB, Phases, Ports, Rig  # noqa: E402

PORTS = Ports(postgres=8190, redis=8191, web=8192)
SCENARIOS = ("none", *FAULTS)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=",".join(SCENARIOS), help="comma list of scenarios")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--before", type=float, default=20, help="seconds of load before")
    parser.add_argument("--after", type=float, default=40, help="seconds of load after")
    parser.add_argument("--probe-until", type=float, default=60, help="recovery measured until")
    parser.add_argument("--settle", type=float, default=60, help="wait for imports to end")
    parser.add_argument("--commit", help="run the server from a frozen copy of this commit")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    unknown = set(args.faults.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    install_signal_handlers()  # SIGTERM unwinds too, so the rig stops what it started
    phases = Phases(
        items=args.items,
        labelers=args.labelers,
        before_seconds=args.before,
        after_seconds=args.after,
        recovery_limit_seconds=30,
        probe_until_seconds=max(30, args.probe_until),
        import_settle_seconds=args.settle,
    )
    if args.commit:
        use_commit(args.commit)  # sets _harness.APP_DIR to bench/out/snapshots/<sha>
    runs = []
    with Rig(PORTS, OUT / "faults", app_dir=_harness.APP_DIR) as rig:
        where = machine(rig.postgres.url("postgres"))
        for scenario in args.faults.split(","):
            figures = rig.run(None if scenario == "none" else scenario, phases)
            figures.update(
                machine=where,
                code=git_commit(),
                phases=vars(args) | {"database": RUN_DB},
            )
            verdict = "; violations: " + (" / ".join(figures["violations"]) or "none")
            record(
                f"{command_line()} [{scenario}]",
                summary(figures) + verdict,
                figures,
                write=not args.no_record,
            )
            runs.append(figures)
    print(markdown_table(runs), file=sys.stderr)


TABLE_COLUMNS = (
    ("scenario", lambda f: f"`{f['fault']}`"),
    ("submits", lambda f: f["submits"]),
    ("acknowledged / stored", lambda f: f"{f['acknowledged']} / {f['stored']}"),
    ("acknowledged, not stored", lambda f: f["acknowledged_not_stored"]),
    ("5xx (stored)", lambda f: f"{f['answered_5xx']} (**{f['stored_but_5xx']}**)"),
    ("dropped (stored)", lambda f: f"{f['dropped']} ({f['stored_after_dropped']})"),
    ("items over N", lambda f: f["items_over_n"]),
    ("double answers", lambda f: f["double_answers"]),
    ("worker / beat back", lambda f: f"{f['worker_back_s']} / {f['beat_back_s']} s"),
    ("imports left", lambda f: len(f["imports_unfinished"])),
    ("serve alive", lambda f: "yes" if f["serve_alive"] else "**no**"),
    ("answers/s", lambda f: f["answers_per_second"]),
)


def markdown_table(runs: list[dict]) -> str:
    """The runs as a Markdown table, one row per scenario (None: not back within the probe)."""
    lines = [
        "| " + " | ".join(name for name, _ in TABLE_COLUMNS) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    for figures in runs:
        if "submits" in figures:
            lines.append("| " + " | ".join(str(cell(figures)) for _, cell in TABLE_COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
