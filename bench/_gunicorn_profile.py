"""gunicorn settings of bench/profile_web.py's profiled runs: cProfile in every thread of a worker.

While the file named by ``BENCH_PROFILE_FLAG`` exists, each thread that serves a request (and
the worker's main thread, which accepts connections and watches kept-alive ones) profiles
itself; when the worker exits, each thread's stats are written to
``BENCH_PROFILE_DIR/<pid>-<thread>.prof``. Only for the bench: a profiled worker is slower.
"""

import cProfile
import os
import threading
import time

_FLAG = os.environ.get("BENCH_PROFILE_FLAG", "")
_DIR = os.environ.get("BENCH_PROFILE_DIR", "")
_profilers: dict[int, cProfile.Profile] = {}
_enabled: set[int] = set()


def _toggle() -> None:
    ident = threading.get_ident()
    wanted = bool(_FLAG) and os.path.exists(_FLAG)
    if wanted and ident not in _enabled:
        _profilers.setdefault(ident, cProfile.Profile(time.thread_time)).enable()
        _enabled.add(ident)
    elif not wanted and ident in _enabled:
        _profilers[ident].disable()
        _enabled.discard(ident)


def post_worker_init(worker):
    select = worker.poller.select

    def watched_select(timeout=None):
        _toggle()
        return select(timeout)

    worker.poller.select = watched_select


def pre_request(worker, req):
    _toggle()


def worker_exit(server, worker):
    for ident, profiler in _profilers.items():
        if ident == threading.get_ident():
            profiler.disable()
        profiler.create_stats()
        profiler.dump_stats(os.path.join(_DIR, f"{os.getpid()}-{ident}.prof"))
