"""The web's CPU per answer on a real gunicorn: worker CPU and Python calls per claim + submit.

For each checkout (``--app-dir``, repeatable; this one by default) starts a stack of its own
(gunicorn, a Celery worker, a database on the server of ``--pg-port``, a Redis database),
sets a job up through the API and then, in rounds that alternate between the checkouts,
lets ``--labelers`` closed-loop labelers (one keep-alive connection each, no think time)
make ``--answers`` answers and reads the gunicorn workers' CPU time from /proc around them:
CPU ms per answer (claim request + submit request) of the web alone. With ``--profile`` a
last round of each checkout runs under cProfile in every thread of the workers
(bench/_gunicorn_profile.py) and prints Python function calls per answer (a count that
other load does not change) and the top functions.

    .venv/bin/python bench/profile_web.py --app-dir . --app-dir /work/wt/p20-web-base \
        --pg-port 5432 --redis-url redis://127.0.0.1:6379/12 --redis-url redis://127.0.0.1:6379/11
"""

import argparse
import glob
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

import _harness
from _harness import (
    LABELS,
    Client,
    Stack,
    WebConfig,
    create_job,
    create_labelers,
    create_team,
    import_items,
    start_job,
)
from _probes import cpu_ticks

TICKS = os.sysconf("SC_CLK_TCK")
PROFILE_CONFIG = Path(__file__).resolve().parent / "_gunicorn_profile.py"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-dir", action="append", default=[], help="checkouts to compare")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=2_000, help="answers per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--web", default="gthread:2x8")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--database", default="quorum_p20web_bench", help="prefix; _0, _1 ...")
    parser.add_argument("--redis-url", action="append", default=[], help="one per checkout")
    parser.add_argument("--profile", action="store_true", help="a last, profiled round")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", default="", help="prefix of the merged profiles' files")
    return parser.parse_args(argv)


class Side:
    """One checkout's stack and job."""

    def __init__(self, index: int, app_dir: Path, args: argparse.Namespace):
        self.name = f"{index}:{app_dir}"
        database = f"{args.database}_{index}"
        self.admin_url = f"postgresql://postgres@127.0.0.1:{args.pg_port}/postgres"
        self.database_url = f"postgres://postgres@127.0.0.1:{args.pg_port}/{database}"
        self.database = database
        self.flag = Path(tempfile.mkdtemp(prefix="p20web-")) / "on"
        self.profile_dir = self.flag.parent
        self.stack = Stack(
            WebConfig.parse(args.web),
            app_dir=app_dir,
            database_url=self.database_url,
            admin_url=self.admin_url,
            redis_url=args.redis_url[index],
            name=f"profile-web-{index}",
        )
        if args.profile:
            self.stack.env.update(
                GUNICORN_CMD_ARGS=f"-c {PROFILE_CONFIG}",
                BENCH_PROFILE_FLAG=str(self.flag),
                BENCH_PROFILE_DIR=str(self.profile_dir),
            )

    def __enter__(self) -> "Side":
        _harness.DB_NAME = self.database  # reset_database drops and creates this one
        self.stack.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        _harness.DB_NAME = self.database
        self.stack.__exit__(*exc)

    def set_up(self, items: int, labelers: int) -> None:
        manager = Client(self.stack.port, self.stack.create_manager("profile-manager"))
        team_id = create_team(manager, "profile-team")
        self.job_id = create_job(manager, "profile-job", team_id)["id"]
        import_items(manager, self.job_id, items, database_url=self.database_url)
        start_job(manager, self.job_id)
        self.tokens = create_labelers(manager, team_id, "profile", labelers)
        manager.close()

    def worker_ticks(self) -> int:
        return sum(cpu_ticks(pid) or 0 for pid in self.stack.web_pids())

    def answers(self, count: int) -> tuple[int, float]:
        """``count`` answers by the labelers; (answers made, web CPU seconds)."""
        left = [count]
        lock = threading.Lock()
        errors: list[str] = []

        def labeler(token: str, seed: int) -> None:
            client = Client(self.stack.port, token)
            try:
                while True:
                    with lock:
                        if left[0] <= 0:
                            return
                        left[0] -= 1
                    status, body, _ = client.call("POST", f"/api/v1/jobs/{self.job_id}/tasks/next")
                    if status != 200:
                        errors.append(f"next {status} {body}")
                        return
                    label = LABELS[(seed + body["assignment_id"]) % len(LABELS)]
                    status, body, _ = client.call(
                        "POST",
                        f"/api/v1/assignments/{body['assignment_id']}/submit",
                        {"answer": {"label": label}},
                    )
                    if status != 201:
                        errors.append(f"submit {status} {body}")
                        return
            finally:
                client.close()

        before = self.worker_ticks()
        threads = [
            threading.Thread(target=labeler, args=(token, seed))
            for seed, token in enumerate(self.tokens)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"{self.name}: {errors[:3]}")
        return count, (self.worker_ticks() - before) / TICKS


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    app_dirs = [Path(d).resolve() for d in args.app_dir] or [_harness.REPO]
    if len(args.redis_url) < len(app_dirs):
        raise SystemExit("give one --redis-url per checkout")
    sides = [Side(i, d, args) for i, d in enumerate(app_dirs)]
    entered: list[Side] = []
    try:
        for side in sides:
            entered.append(side.__enter__())
            side.set_up(args.items, args.labelers)
            side.answers(args.labelers * 4)  # warm-up: imports, plans, connections
        figures: dict[str, list[float]] = {side.name: [] for side in sides}
        for round_ in range(args.rounds):
            order = sides if round_ % 2 == 0 else sides[::-1]
            for side in order:
                made, cpu = side.answers(args.answers)
                figures[side.name].append(cpu * 1000 / made)
                print(f"round {round_} {side.name}: {cpu * 1000 / made:.3f} web CPU ms per answer")
        for name, values in figures.items():
            values.sort()
            print(
                f"== {name}: web CPU ms per answer (claim + submit) min {values[0]:.3f}, "
                f"median {values[len(values) // 2]:.3f} over {len(values)} rounds "
                f"of {args.answers} answers"
            )
        if args.profile:
            for side in sides:
                side.flag.touch()
                made, _ = side.answers(args.answers)
                side.flag.unlink()
                time.sleep(1.5)  # the main threads see the flag gone at their next wake-up
                side.stack.stop()  # the workers write their profiles as they exit
                files = glob.glob(str(side.profile_dir / "*.prof"))
                stats = pstats.Stats(*files)
                print(
                    f"\n== {side.name}: {stats.total_calls / made:.0f} Python function calls "
                    f"per answer in the gunicorn workers ({len(files)} threads profiled)"
                )
                if args.dump:
                    stats.dump_stats(f"{args.dump}-{sides.index(side)}.prof")
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
    finally:
        for side in entered:
            side.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
