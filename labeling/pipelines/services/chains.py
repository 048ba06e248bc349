"""Chained jobs (issue 16 point 1): a child job's input is its parent's output, item by item.

A link (parent job -> child job, a filter) passes each parent item on as the parent
consolidates it: the child's item is the parent's output manifest line exactly as the export
writes it (``item_manifest_line``), so it carries every earlier attribute and its metadata,
and the child adds its own. A child whose label attribute is the parent's *continues* it:
labeled items keep their labels (stored labeled in the child), only the rest are worked.

What a link did with each parent item is one ``ChainPassage`` row (unique per link and item):
passing is idempotent, a redelivered event or a second worker passes nothing twice. A
relabel (a review's fix, EM's re-estimate) runs the same function again: the item stays,
moves (withdrawn from the child it no longer matches, passed to the one it now matches) or
is withdrawn with the reason. The passing itself, in batches or item by item, is
``chain_passing.py``'s; this module makes the links and runs the drains and sweeps.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.errors import Conflict, NotAllowed, ValidationFailed
from labeling.models import (
    ChainLink,
    ConsolidatedLabel,
    Item,
    Job,
    Taxonomy,
    User,
)
from labeling.pipelines.services.chain_checks import chain_check_compatible, chain_filter_clean
from labeling.pipelines.services.chain_passing import (
    chain_item_pass,
    chain_items_pass,
    chain_pending_items,
)
from labeling.services.jobs import job_complete_if_done, job_start, job_transition
from labeling.states import ItemStatus, JobStatus

# Items passed at link time, per transaction (a parent of a million items does not hold one).
PASS_BATCH = 500


def _is_manager(user: User) -> None:
    if not user.is_manager:
        raise NotAllowed("only managers of both jobs link them")


def _ancestors(job_id: int) -> set[int]:
    seen: set[int] = set()
    current: int | None = job_id
    while current is not None and current not in seen:
        seen.add(current)
        current = (
            ChainLink.objects.filter(child_id=current).values_list("parent_id", flat=True).first()
        )
    return seen


def chain_link_create(
    *,
    parent: Job,
    child: Job,
    by: User,
    labels: list[str] | None = None,
    confidence_below: float | None = None,
    machine_labeled_only: bool = False,
    taxonomy: Taxonomy | None = None,
) -> ChainLink:
    """Link ``child`` to ``parent``: the parent's items already consolidated pass at once (a
    continuation passes all of them), the others as they are consolidated."""
    _is_manager(by)
    if parent.pk == child.pk:
        raise ValidationFailed("a job can't be its own parent", details={"field": "parent"})
    if child.pk in _ancestors(parent.pk):
        raise ValidationFailed(
            f"job {child.pk} is an ancestor of job {parent.pk}: a chain has no cycles",
            details={"field": "parent"},
        )
    if child.status not in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        raise Conflict(f"the child job is {child.status}: link a draft job", code="child_closed")
    if Item.objects.filter(job_id=child.pk).exists():
        raise Conflict(
            "the child job has items already: link a job without items", code="child_has_items"
        )
    chain_check_compatible(parent=parent, child=child)
    wanted = chain_filter_clean(parent, labels, confidence_below, machine_labeled_only)
    continues = child.label_attribute_name == parent.label_attribute_name
    if continues and (wanted.labels or wanted.confidence_below or wanted.machine_labeled_only):
        raise ValidationFailed(
            "a child that continues its parent takes all of it: no filter",
            details={"field": "labels"},
        )
    if continues and parent.status in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        raise Conflict(
            "stop the parent job first: a child with its label attribute continues it where "
            "it stopped",
            code="parent_running",
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                link = ChainLink.objects.create(
                    parent=parent,
                    child=child,
                    labels=list(wanted.labels),
                    confidence_below=wanted.confidence_below,
                    machine_labeled_only=wanted.machine_labeled_only,
                    continues=continues,
                    taxonomy=taxonomy,
                    created_by=by,
                )
        except IntegrityError:
            raise Conflict("the child job has a parent already", code="child_linked") from None
        if not continues and parent.status in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
            # Items keep arriving while the parent runs: the child completes after it.
            Job.objects.filter(pk=child.pk).update(open_ended=True)
            child.open_ended = True
        if parent.status == JobStatus.IN_PROGRESS and child.status == JobStatus.DRAFT:
            chain_job_start(job=child, by=by)
            chain_children_start(job_id=child.pk, by=by)  # a linked subtree starts with it
    chain_link_catch_up(link_id=link.pk, every_item=continues)
    return link


def chain_job_start(*, job: Job, by: User | None) -> Job:
    """Start a linked job that may have no items yet (they arrive from its parent)."""
    now = timezone.now()
    return job_transition(
        job=job,
        to=JobStatus.IN_PROGRESS,
        by=by,
        reason="started with its chain",
        started_at=now,
        expires_at=now + timedelta(seconds=job.availability_lifetime_seconds),
    )


def chain_link_catch_up(*, link_id: int, every_item: bool = False) -> int:
    """Pass the parent's items that have no passage yet: consolidated ones (all, for
    ``every_item``), in batches; the sweep and the link's creation call it. Returns how many."""
    link = ChainLink.objects.select_related("parent", "child").get(pk=link_id)
    done = 0
    last = 0
    while ids := chain_pending_items(link, after=last, batch=PASS_BATCH, every_item=every_item):
        done += chain_items_pass(link, ids)
        last = ids[-1]
    return done


def chain_item_flow(*, job_id: int, item_id: int) -> dict[str, str]:
    """An item of ``job_id`` was consolidated or relabeled: bring every link out of the job
    up to date for it. Returns {child job id: what happened}."""
    links = list(ChainLink.objects.select_related("parent", "child").filter(parent_id=job_id))
    if not links:
        return {}
    done = {}
    with transaction.atomic():  # one transaction and one read of the label for every link
        consolidated = ConsolidatedLabel.objects.filter(item_id=item_id).first()
        for link in links:
            done[str(link.child_id)] = chain_item_pass(
                link=link, parent_item_id=item_id, consolidated=consolidated
            )
    return done


# Items a drain passes per transaction (a few statements per batch, whatever its size), small
# enough that each batch is visible in the child soon.
DRAIN_BATCH = 100


def chain_job_drain(*, job_id: int) -> int:
    """Pass every consolidated item of ``job_id`` that its links have not handled yet: one
    task for a burst of consolidations, instead of one per item. The links take turns, a
    small batch each, so no link waits behind another's backlog; it stops at the items
    labeled when it began (a later one has queued the next drain). Returns how many."""
    links = list(
        ChainLink.objects.select_related("parent", "child").filter(
            parent_id=job_id, continues=False
        )
    )
    newest = (
        Item.objects.filter(job_id=job_id, status=ItemStatus.LABELED)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if not links or newest is None:
        return 0
    last = dict.fromkeys((link.pk for link in links), 0)
    passed = 0
    while links:
        busy = []
        for link in links:
            ids = chain_pending_items(link, after=last[link.pk], batch=DRAIN_BATCH, upto=newest)
            if ids:
                passed += chain_items_pass(link, ids)
                last[link.pk] = ids[-1]
                busy.append(link)
        links = busy
    return passed


def chain_parent_finished(*, job_id: int) -> list[int]:
    """The parent job completed (or stopped): its children stop waiting for more items and
    complete once every item they hold is labeled. Returns the children completed."""
    completed = []
    for child_id in ChainLink.objects.filter(parent_id=job_id).values_list("child_id", flat=True):
        Job.objects.filter(pk=child_id, open_ended=True).update(open_ended=False)
        if job_complete_if_done(job_id=child_id):
            completed.append(child_id)
    return completed


def chain_children_start(*, job_id: int, by: User | None = None) -> list[int]:
    """The parent started: start its draft children, and theirs (items reach them as the
    parent consolidates). Returns the jobs started."""
    started = []
    pending = [job_id]
    while pending:
        parent_id = pending.pop()
        for child in Job.objects.filter(
            chain_parent_link__parent_id=parent_id, status=JobStatus.DRAFT
        ):
            chain_job_start(job=child, by=by)
            started.append(child.pk)
            pending.append(child.pk)
    return started


OUTPUT_MANIFEST_SUFFIX = "/manifests/output/output.manifest"


def chain_from_output_manifest(*, job: Job, manifest_uri: str, by: User) -> ChainLink | None:
    """The control plane's CreateLabelingJob whose input manifest is a Quorum job's output
    manifest (the managed layout, ``labeling/data/services/outputs.py``): link ``job`` to that
    job, a continuation when the label attribute is the same, a chained child otherwise, and
    start it. None when the manifest is no Quorum job's output (an ordinary import)."""
    existing = ChainLink.objects.filter(child_id=job.pk).first()
    if existing is not None:
        return existing
    if not manifest_uri.endswith(OUTPUT_MANIFEST_SUFFIX):
        return None
    prefix = manifest_uri.removesuffix(OUTPUT_MANIFEST_SUFFIX)
    parent = Job.objects.filter(output__prefix=prefix).exclude(pk=job.pk).first()
    if parent is None:
        return None
    link = chain_link_create(parent=parent, child=job, by=by)
    job.refresh_from_db()
    if job.status == JobStatus.DRAFT and job.items_total:
        job_start(job=job, by=by)
    return link


def chain_links_sweep() -> int:
    """Periodic backstop: pass what lost events left behind, on every link."""
    passed = 0
    for link_id, continues in ChainLink.objects.values_list("id", "continues"):
        passed += chain_link_catch_up(link_id=link_id, every_item=continues)
    return passed
