"""Gates other apps put in front of the claim: a gate may close a job's *new* items to
humans (for example when automated labeling's human budget is spent).

A closed job still hands out the remaining slots of items humans already started (leased or
partly answered), so nothing is left half-answered; when there are none, the claim is
refused with the gate's code and message, which the labeler portal shows as it is.
Gates run inside the claim's transaction, after the worker's lock, and may take locks of
their own to make their count exact.
"""

from collections.abc import Callable
from dataclasses import dataclass

from labeling.models import Job


@dataclass(frozen=True)
class ClaimClosed:
    """Why humans get no new items of a job: an error code and a sentence for the labeler."""

    code: str
    message: str


ClaimGate = Callable[[Job], ClaimClosed | None]

_GATES: list[ClaimGate] = []


def register_claim_gate(gate: ClaimGate) -> None:
    if gate not in _GATES:
        _GATES.append(gate)


def claim_closed(job: Job) -> ClaimClosed | None:
    """The first gate that closes ``job``'s new items, or None when all are open."""
    for gate in _GATES:
        closed = gate(job)
        if closed is not None:
            return closed
    return None
