"""Run crowd-kit's aggregators on one answers file; print each one's labels and run time.

Runs in the benchmark's own environment (``var/bench-venv``, where crowd-kit is installed),
never in Quorum's: ``bench/consolidation.py`` starts it as a subprocess and scores its labels
exactly as it scores Quorum's. Input on the command line: the answers CSV
(``question,worker,answer``); output: one JSON object on stdout.

``--multilabel FILE``: answers ``question,worker,labels`` (labels joined by ``|``, empty for
none), aggregated by crowd-kit's ``BinaryRelevance`` (one binary aggregator per label) around
``MajorityVote`` and ``DawidSkene``; labels come back as lists.
"""

import json
import sys
import time

import pandas as pd
from crowdkit.aggregation import (
    GLAD,
    BinaryRelevance,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
)

METHODS = {
    "crowdkit_majority": lambda: MajorityVote(),
    "crowdkit_dawid_skene": lambda: DawidSkene(n_iter=100),
    "crowdkit_one_coin": lambda: OneCoinDawidSkene(n_iter=100),
    "crowdkit_glad": lambda: GLAD(),
}


MULTILABEL_METHODS = {
    "crowdkit_binary_relevance_majority": lambda: BinaryRelevance(MajorityVote()),
    "crowdkit_binary_relevance_dawid_skene": lambda: BinaryRelevance(DawidSkene(n_iter=100)),
}


def multilabel(path: str) -> None:
    frame = pd.read_csv(path, dtype={"question": str, "worker": str, "labels": str})
    frame["labels"] = frame["labels"].fillna("")
    frame = frame.rename(columns={"question": "task"})
    frame["label"] = [value.split("|") if value else [] for value in frame.pop("labels")]
    out = {}
    for name, make in MULTILABEL_METHODS.items():
        started = time.perf_counter()
        labels = make().fit_predict(frame)
        out[name] = {
            "seconds": time.perf_counter() - started,
            "labels": {str(k): sorted(str(v) for v in value) for k, value in labels.items()},
        }
    json.dump(out, sys.stdout)


def main() -> None:
    if sys.argv[1] == "--multilabel":
        multilabel(sys.argv[2])
        return
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
