"""Run crowd-kit's aggregators on one answers file; print each one's labels and run time.

Runs in the benchmark's own environment (``var/bench-venv``, where crowd-kit is installed),
never in Quorum's: ``bench/consolidation.py`` starts it as a subprocess and scores its labels
exactly as it scores Quorum's. Input on the command line: the answers CSV
(``question,worker,answer``); output: one JSON object on stdout.
"""

import json
import sys
import time

import pandas as pd
from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote, OneCoinDawidSkene

METHODS = {
    "crowdkit_majority": lambda: MajorityVote(),
    "crowdkit_dawid_skene": lambda: DawidSkene(n_iter=100),
    "crowdkit_one_coin": lambda: OneCoinDawidSkene(n_iter=100),
    "crowdkit_glad": lambda: GLAD(),
}


def main() -> None:
    path, *wanted = sys.argv[1:]
    frame = pd.read_csv(path, dtype={"question": str, "worker": str})
    frame = frame.rename(columns={"question": "task", "answer": "label"})
    out = {}
    for name, make in METHODS.items():
        if wanted and name not in wanted:
            continue
        started = time.perf_counter()
        try:
            labels = make().fit_predict(frame)
        except Exception as exc:  # one method's failure must not hide the others' figures
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        seconds = time.perf_counter() - started
        out[name] = {"seconds": seconds, "labels": {str(k): int(v) for k, v in labels.items()}}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
