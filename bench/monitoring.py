"""How fast does model-quality monitoring see a drop, and how often does it cry wolf? (issue 18)

A simulated flow gets 1,000 predictions an hour; a random ``--audit`` share of them goes to
people, whose labels arrive late (exponential, mean ``--label-delay-hours``, so the stream
the detector sees is in label-arrival order, as in Quorum). The model's accuracy is 0.92 and
drops to 0.85 at a known hour. The detector is Quorum's own (workflows/monitoring/stats.py:
``accuracy_detector``, a CUSUM of e-values) with the defaults of a flow: baseline 0.92
(stated), tolerance 0.02 (alert level 0.90), tuned for a further 0.05 drop, at most one false
alarm per 50,000 audited labels on average (h = ln 50,000). The sweep evaluates every five
minutes, so an alert is raised at the first evaluation after the label that fires it.

Printed as one JSON object, with a row appended to bench/RESULTS.md (--no-record: print only):

  per audit share: median and p90 hours from the drop to the alert (drop streams), the share
  of streams that alerted within 24 h, false alarms per 30 days of a stable model (0.92),
  and of a model sitting exactly at the alert level (0.90, where the stated rate is tight);
  for contrast, the false alarms of the naive rule "alert when the 95 % interval of the last
  24 hours is below the alert level", tested every hour.

    .venv/bin/python bench/monitoring.py [--seeds 200] [--audits 0.05,0.02]
"""

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _harness import command_line, git_commit, record
from _probes import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflows.monitoring.stats import accuracy_detector, threshold_for, wilson  # noqa: E402

PER_HOUR = 1000
BEFORE, AFTER = 0.92, 0.85
BASELINE, TOLERANCE, DESIGN_DROP = 0.92, 0.02, 0.05
FALSE_ALARM_LABELS = 50_000
DROP_HOUR = 72  # three days of a good model first
WATCH_AFTER_DROP_HOURS = 7 * 24
EVALUATE_EVERY_HOURS = 5 / 60
DAYS_30 = 30 * 24


def stream(rng, hours: int, audit: float, accuracy_at, delay_mean: float):
    """(label arrival hour, correct) of the audited predictions, in arrival order."""
    counts = rng.binomial(PER_HOUR, audit, size=hours)
    predicted = np.repeat(np.arange(hours), counts) + rng.random(counts.sum())
    accuracy = np.where(predicted < accuracy_at[0], accuracy_at[1], accuracy_at[2])
    correct = rng.random(predicted.size) < accuracy
    arrival = predicted + rng.exponential(delay_mean, predicted.size)
    order = np.argsort(arrival, kind="stable")
    return arrival[order], correct[order]


def detect(correct) -> list:
    null = BASELINE - TOLERANCE
    return accuracy_detector(
        correct.tolist(),
        null_accuracy=null,
        alternative_accuracy=null - DESIGN_DROP,
        h=threshold_for(FALSE_ALARM_LABELS),
    ).episodes


def alert_hour(arrival_hour: float) -> float:
    return math.ceil(arrival_hour / EVALUATE_EVERY_HOURS) * EVALUATE_EVERY_HOURS


def naive_alarms(arrival, correct, hours: int) -> int:
    """Hourly: Wilson 95 % upper bound of the last 24 h of labels below the alert level."""
    null = BASELINE - TOLERANCE
    alarms, on = 0, False
    cumulative = np.concatenate([[0], np.cumsum(correct)])
    for hour in range(24, hours):
        lo = np.searchsorted(arrival, hour - 24)
        hi = np.searchsorted(arrival, hour)
        n = hi - lo
        if n == 0:
            continue
        _, upper = wilson(int(cumulative[hi] - cumulative[lo]), int(n))
        fired = upper < null
        alarms += fired and not on
        on = fired
    return alarms


def run_audit(audit: float, seeds: int, delay_mean: float) -> dict:
    delays, missed = [], 0
    false_before_drop = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        hours = DROP_HOUR + WATCH_AFTER_DROP_HOURS
        arrival, correct = stream(rng, hours, audit, (DROP_HOUR, BEFORE, AFTER), delay_mean)
        fired = [alert_hour(arrival[e.fired_at_label]) for e in detect(correct)]
        false_before_drop += sum(1 for hour in fired if hour < DROP_HOUR)
        after = [hour for hour in fired if hour >= DROP_HOUR]
        if after:
            delays.append(after[0] - DROP_HOUR)
        else:
            missed += 1
    stable, at_null, naive, naive_at_null = [], [], [], []
    for seed in range(seeds):
        rng = np.random.default_rng(10_000 + seed)
        arrival, correct = stream(rng, DAYS_30, audit, (DAYS_30, BEFORE, BEFORE), delay_mean)
        stable.append(len(detect(correct)))
        naive.append(naive_alarms(arrival, correct, DAYS_30))
        null = BASELINE - TOLERANCE
        arrival, correct = stream(rng, DAYS_30, audit, (DAYS_30, null, null), delay_mean)
        at_null.append(len(detect(correct)))
        naive_at_null.append(naive_alarms(arrival, correct, DAYS_30))
    delays.sort()
    labels_30_days = PER_HOUR * audit * DAYS_30
    return {
        "audit": audit,
        "seeds": seeds,
        "audited_labels_per_hour": PER_HOUR * audit,
        "delay_hours_median": round(statistics.median(delays), 2) if delays else None,
        "delay_hours_p90": round(delays[int(0.9 * (len(delays) - 1))], 2) if delays else None,
        "detected_within_24h": round(sum(d <= 24 for d in delays) / seeds, 3),
        "missed_within_7_days": missed,
        "false_alarms_before_drop": false_before_drop,
        "false_alarms_per_30_days_stable": round(statistics.mean(stable), 4),
        "false_alarms_per_30_days_at_alert_level": round(statistics.mean(at_null), 4),
        "stated_bound_per_30_days": round(labels_30_days / FALSE_ALARM_LABELS, 3),
        "naive_hourly_test_false_alarms_per_30_days": round(statistics.mean(naive), 3),
        "naive_hourly_test_false_alarms_per_30_days_at_alert_level": round(
            statistics.mean(naive_at_null), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--audits", default="0.05,0.02")
    parser.add_argument("--label-delay-hours", type=float, default=2.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    results = [
        run_audit(float(a), args.seeds, args.label_delay_hours) for a in args.audits.split(",")
    ]
    summary = "; ".join(
        f"{r['audit']:.0%} audit ({r['audited_labels_per_hour']:.0f} labels/h, labels "
        f"{args.label_delay_hours:g} h late on average): 0.92→0.85 detected in median "
        f"{r['delay_hours_median']} h, p90 {r['delay_hours_p90']} h "
        f"({r['detected_within_24h']:.0%} within 24 h, {r['missed_within_7_days']} missed); "
        f"false alarms per 30 days {r['false_alarms_per_30_days_stable']} at 0.92, "
        f"{r['false_alarms_per_30_days_at_alert_level']} at the alert level 0.90 "
        f"(stated ≤ {r['stated_bound_per_30_days']}); naive hourly 24 h test "
        f"{r['naive_hourly_test_false_alarms_per_30_days']} at 0.92, "
        f"{r['naive_hourly_test_false_alarms_per_30_days_at_alert_level']} at 0.90"
        for r in results
    )
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "detector": {
            "method": "CUSUM of e-values (Bernoulli likelihood ratio), Lorden: ARL0 >= e^h",
            "baseline": BASELINE,
            "tolerance": TOLERANCE,
            "design_drop": DESIGN_DROP,
            "false_alarm_labels": FALSE_ALARM_LABELS,
            "h": round(threshold_for(FALSE_ALARM_LABELS), 3),
        },
        "predictions_per_hour": PER_HOUR,
        "drop": {"from": BEFORE, "to": AFTER, "at_hour": DROP_HOUR},
        "label_delay_hours_mean": args.label_delay_hours,
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    record(
        command_line(), summary + f" ({args.seeds} seeds each)", figures, write=not args.no_record
    )


if __name__ == "__main__":
    main()
