"""The fault suite: 20 labelers on a 20,000-item job while one part of the stack fails.

Each test runs Quorum with ``manage.py serve`` against a PostgreSQL and a Redis of its own (own
ports, never the shared ones), injects one fault mid-run and checks from the database that
every acknowledged answer is stored, no answer was stored but answered 5xx, no item has more
than N answers, no worker answered an item twice, the Celery worker and beat are back within
30 s and no import is left running. The figures of every run are printed; bench/faults.py
runs the same scenarios with longer phases and records them in bench/RESULTS.md.
"""

import json
import os

import pytest

from tests.faults.checks import summary
from tests.faults.harness import FAULTS, Phases, Ports, Rig
from tests.faults.stack import ROOT, missing_binaries

pytestmark = [pytest.mark.faults, pytest.mark.services]

PORTS = Ports(postgres=8180, redis=8181, web=8182)
PHASES = Phases(before_seconds=10, after_seconds=20)
LOGS = ROOT / "var" / "faults"  # git-ignored; the serve log of each run, named in failures


@pytest.fixture(scope="module")
def rig():
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("the fault suite runs in the services pass (DATABASE_URL set), once")
    reason = missing_binaries()
    if reason:
        if os.environ.get("QUORUM_REQUIRE_SERVICES"):
            pytest.fail(f"QUORUM_REQUIRE_SERVICES is set but the fault suite cannot run: {reason}")
        pytest.skip(f"the fault suite needs PostgreSQL 15 and redis-server binaries: {reason}")
    # A folder of its own under /tmp (pytest's are private to root; PostgreSQL runs as postgres).
    with Rig(PORTS, LOGS) as started:
        yield started


@pytest.mark.parametrize("fault", FAULTS)
def test_answers_and_workers_survive_the_fault(rig, fault):
    figures = rig.run(fault, PHASES)
    print(json.dumps(figures, default=str))
    assert not figures["violations"], (
        summary(figures)
        + "\nviolations:\n  "
        + "\n  ".join(figures["violations"])
        + f"\nlog findings: {json.dumps(figures['log_findings'])[:3000]}"
        + f"\nserve log: {figures['serve_log']}"
    )
