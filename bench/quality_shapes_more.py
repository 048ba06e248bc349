"""Adaptive overlap that also asks more than the fixed overlap it is compared with (issue 19
point 1): up to ``--max-workers`` answers, against fixed overlaps 2 … that maximum.

    .venv/bin/python bench/quality_shapes_more.py [--max-workers 8] [--seeds 1,2,3]
        [--thresholds 0.6,0.7,0.8,0.9] [--kinds boxes,spans] [--no-record]

``bench/quality_shapes.py``'s crowds, items and ``Run`` with queues of ``--max-workers``
distinct workers. Reliabilities are estimated on the first third at overlap 5 (as fixed
overlap 5's are), figures over the rest. Adaptive: 2 answers, then one more while the
answers' weighted mean pairwise similarity stays under the threshold, up to the maximum.
"Saved at equal quality": 1 − its answers per item / the answers fixed overlap needs for the
same quality, linear between the measured overlaps (``fixed_answers_for``). Simulated crowds:
the figures do not depend on the machine.
"""

import argparse

import numpy as np
import quality_shapes as qs


def measure(kind: str, crowd: str, seed: int, items: int, thresholds: list[float]) -> dict:
    run = qs.Run(kind, crowd, seed, items)
    curve = {k: run.fixed(k, run.reliability(k)) for k in qs.FIXED}
    reliability = run.reliability(5)
    adaptive = {}
    for threshold in thresholds:
        quality, spent = run.adaptive(reliability, threshold)
        needed = qs.fixed_answers_for(quality, curve)
        adaptive[str(threshold)] = {
            "quality": round(quality, 4),
            "answers_per_item": round(spent, 3),
            "fixed_answers_at_equal_quality": round(needed, 3),
            "saved_at_equal_quality": round(1 - spent / needed, 4),
        }
    return {"fixed": {str(k): round(q, 4) for k, q in curve.items()}, "adaptive": adaptive}


def summarise(results: dict, thresholds: list[float]) -> str:
    parts = []
    for kind, crowds in results.items():
        cells = []
        for threshold in map(str, thresholds):
            saved = [
                c["mean"]["adaptive"][threshold]["saved_at_equal_quality"] for c in crowds.values()
            ]
            gap = [
                c["mean"]["adaptive"][threshold]["quality"] - c["mean"]["fixed"]["5"]
                for c in crowds.values()
            ]
            cells.append(
                f"t={threshold}: saved {np.mean(saved):.1%} ({min(saved):.1%}…{max(saved):.1%}), "
                f"quality − fixed 5 {np.mean(gap):+.4f}"
            )
        parts.append(f"**{kind}** " + "; ".join(cells))
    return " — ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-workers", type=int, default=8)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--thresholds", default="0.6,0.7,0.8,0.9")
    parser.add_argument("--kinds", default="boxes,spans")
    parser.add_argument("--items", type=int, default=qs.ITEMS)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.max_workers < 5:
        parser.error("--max-workers is compared with fixed overlap 5: 5 or more")
    qs.MAX_WORKERS = args.max_workers
    qs.FIXED = tuple(range(2, args.max_workers + 1))
    seeds = [int(s) for s in args.seeds.split(",")]
    thresholds = [float(t) for t in args.thresholds.split(",")]
    results: dict = {}
    for kind in args.kinds.split(","):
        results[kind] = {}
        for crowd in qs.CROWDS:
            per_seed = [measure(kind, crowd, seed, args.items, thresholds) for seed in seeds]
            mean = {
                "fixed": {
                    k: round(float(np.mean([s["fixed"][k] for s in per_seed])), 4)
                    for k in per_seed[0]["fixed"]
                },
                "adaptive": {
                    t: {
                        key: round(float(np.mean([s["adaptive"][t][key] for s in per_seed])), 4)
                        for key in per_seed[0]["adaptive"][t]
                    }
                    for t in per_seed[0]["adaptive"]
                },
            }
            results[kind][crowd] = {"mean": mean, "seeds": per_seed}
    from _harness import command_line, git_commit, record  # noqa: PLC0415
    from _probes import machine  # noqa: PLC0415

    figures = {
        "max_workers": args.max_workers,
        "seeds": seeds,
        "items": args.items,
        "results": results,
        "machine": machine(),
        "code": git_commit(),
    }
    record(command_line(), summarise(results, thresholds), figures, write=not args.no_record)


if __name__ == "__main__":
    main()
