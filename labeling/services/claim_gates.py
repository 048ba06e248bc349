"""Gates other apps put in front of the claim: a gate may close a job's *new* items to
humans (for example when automated labeling's human budget is spent).

A closed job still hands out the remaining slots of items humans already started (leased or
partly answered), so nothing is left half-answered; when there are none, the claim is
refused with the gate's code and message, which the labeler portal shows as it is.
Gates run inside the claim's transaction, after the worker's lock, and may take locks of
their own to make their count exact.

A gate that must read a setting of the job on every claim can hand over that read as a
``probe``: one scalar SQL expression over its own tables, with the job's id as ``%(job)s``.
The claim evaluates it in the statement that takes the worker's lock (issue 20: one round
trip less per claim) and passes its value to the gate as ``probed``. A gate called without
its probe's value (``claim_closed`` without ``probed``) reads the setting itself.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from labeling.models import Job


@dataclass(frozen=True)
class ClaimClosed:
    """Why humans get no new items of a job: an error code and a sentence for the labeler."""

    code: str
    message: str


ClaimGate = Callable[..., ClaimClosed | None]


@dataclass(frozen=True)
class _Gate:
    gate: ClaimGate
    probe: str | None


_GATES: list[_Gate] = []


def register_claim_gate(gate: ClaimGate, *, probe: str | None = None) -> None:
    if all(registered.gate is not gate for registered in _GATES):
        _GATES.append(_Gate(gate, probe))


def claim_gate_probes() -> list[str]:
    """The gates' probes, in the order ``claim_closed`` expects their values."""
    return [registered.probe for registered in _GATES if registered.probe is not None]


def claim_closed(job: Job, probed: Sequence[object] | None = None) -> ClaimClosed | None:
    """The first gate that closes ``job``'s new items, or None when all are open.
    ``probed``: the values of ``claim_gate_probes()`` for this job, when the caller read them."""
    values = iter(probed or ())
    for registered in _GATES:
        if registered.probe is not None and probed is not None:
            closed = registered.gate(job, probed=next(values))
        else:
            closed = registered.gate(job)
        if closed is not None:
            return closed
    return None
