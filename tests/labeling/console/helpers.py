"""A small labeled job for the data-manager tests: items answered by named workers."""

from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim


def answer_next(job, worker, label: str) -> int:
    """``worker`` claims the next item of ``job`` and answers ``label``; returns its id."""
    lease = assignment_claim(job=job, worker=worker)
    assert lease is not None, "nothing left to claim"
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    return lease.item_id
