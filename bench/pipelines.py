"""Pipelines (issue 16): chained taxonomy latency, streaming delivery, pre-annotation hooks.

    .venv/bin/python bench/pipelines.py --scenario taxonomy   # cat/dog -> baby/adult, 10,000 items
    .venv/bin/python bench/pipelines.py --scenario streaming  # 100 items/s for 10 minutes
    .venv/bin/python bench/pipelines.py --scenario hooks      # pre-annotation hook, 100,000 items
    .venv/bin/python bench/pipelines.py                       # all three

Each scenario lives in its own module (``_pipe_<scenario>.py``) with ``add_arguments(parser)``
and ``run(args) -> dict``; this file runs the chosen ones, prints one JSON object and appends
a row per scenario to bench/RESULTS.md (unless ``--no-record``).
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness  # noqa: E402
from _probes import machine  # noqa: E402

SCENARIOS = ("taxonomy", "streaming", "hooks")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    parser.add_argument("--no-record", action="store_true", help="print only")
    modules = {name: importlib.import_module(f"_pipe_{name}") for name in SCENARIOS}
    for name, module in modules.items():
        module.add_arguments(parser.add_argument_group(name))
    args = parser.parse_args(argv)
    chosen = SCENARIOS if args.scenario == "all" else (args.scenario,)
    figures: dict[str, dict] = {}
    for name in chosen:
        result = modules[name].run(args)
        result.setdefault("machine", machine())
        result.setdefault("code", _harness.git_commit())
        figures[name] = result
        _harness.record(
            _harness.command_line(),
            f"scenario {name}: {result.get('summary', '')}",
            result,
            write=not args.no_record,
        )
    print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
