"""The human budget of automated labeling: how many of a job's items humans may label.

What counts: items, not answers. An item counts once it has a human consolidated label
(validation slice, audits and review-loop answers included) or while humans work on it
(open, with a live lease or an answer: ``taken > 0``). Items labeled by a model never
count. With overlap an item counts once, however many workers answer it.

When the count reaches the budget, humans get no *new* items of the job: a claim may still
take a free slot of an item already started (so no item is left half-answered), otherwise
it is refused with ``human_budget_spent``. The count is exact: on PostgreSQL the claims of
a budgeted job take a transaction-level advisory lock of the job before counting; on
SQLite every claim already runs alone. When the human labels reach the budget a last round
(trigger ``budget``) auto-labels the items its model clears the threshold on; the rest stay
unlabeled, and the job's page and API say how many and why. Raising the budget (or turning
the loop off) opens the job to humans again.
"""

from dataclasses import dataclass

from django.db import connection

from active_learning.models import AutoLabeling
from labeling.models import ConsolidatedLabel, Item, Job
from labeling.services.claim_gates import ClaimClosed
from labeling.states import ItemStatus

BUDGET_SPENT = "human_budget_spent"
# The advisory-lock namespace of budgeted claims (PostgreSQL), an arbitrary constant.
_LOCK_NAMESPACE = 0x51_4B_42  # "QKB"
_BUDGET_OF_JOB = (
    f"SELECT human_budget FROM {AutoLabeling._meta.db_table} "
    "WHERE job_id = %s AND enabled AND human_budget IS NOT NULL"
)
# The same read as the claim's probe (labeling/services/claim_gates.py): the claim evaluates it
# in the statement that takes the worker's lock and hands the gate its value.
BUDGET_PROBE = (
    f"(SELECT human_budget FROM {AutoLabeling._meta.db_table} "
    "WHERE job_id = %(job)s AND enabled AND human_budget IS NOT NULL LIMIT 1)"
)
_NOT_PROBED = object()


@dataclass(frozen=True)
class BudgetUse:
    budget: int
    labeled: int  # items with a human consolidated label
    in_progress: int  # open items humans hold or have partly answered

    @property
    def used(self) -> int:
        return self.labeled + self.in_progress

    @property
    def spent(self) -> bool:
        return self.used >= self.budget


def budget_use(*, job_id: int, budget: int) -> BudgetUse:
    labeled = ConsolidatedLabel.objects.filter(job_id=job_id, human_annotated=True).count()
    in_progress = Item.objects.filter(job_id=job_id, status=ItemStatus.OPEN, taken__gt=0).count()
    return BudgetUse(budget=budget, labeled=labeled, in_progress=in_progress)


def budget_message(budget: int) -> str:
    return (
        f"this job's human budget of {budget} items is spent: the remaining items are left "
        "to the model, or unlabeled where it is not sure enough"
    )


def human_budget_gate(job: Job, probed: object = _NOT_PROBED) -> ClaimClosed | None:
    """The claim gate: close the job's new items once its human budget is used up.
    ``probed``: the job's budget (None: none), as the claim read it with ``BUDGET_PROBE``."""
    if probed is _NOT_PROBED:
        # Raw SQL: this runs inside every claim of every job, and the ORM's query compilation
        # cost more than the lookup itself (measured with bench/claim.py).
        with connection.cursor() as cursor:
            cursor.execute(_BUDGET_OF_JOB, [job.pk])
            row = cursor.fetchone()
        probed = None if row is None else row[0]
    if probed is None:
        return None
    budget = int(probed)
    if connection.vendor == "postgresql":  # budgeted claims of one job count one at a time
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, job.pk % 2**31]
            )
    if budget_use(job_id=job.pk, budget=budget).spent:
        return ClaimClosed(code=BUDGET_SPENT, message=budget_message(budget))
    return None
