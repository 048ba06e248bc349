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
is withdrawn with the reason.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from labeling.data.exports import item_manifest_line
from labeling.errors import Conflict, NotAllowed, ValidationFailed
from labeling.models import (
    Annotation,
    ChainLink,
    ChainPassage,
    ConsolidatedLabel,
    Item,
    Job,
    PassageStatus,
    Taxonomy,
    User,
)
from labeling.pipelines.services.chain_checks import chain_check_compatible, chain_filter_clean
from labeling.services.counters import job_counters_add
from labeling.services.item_events import item_event_record
from labeling.services.jobs import job_complete_if_done, job_start, job_transition
from labeling.services.revisions import job_reopen
from labeling.states import ItemStatus, JobStatus

CONTINUATION_METHOD = "continued"
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


def _pending_ids(link: ChainLink, *, after: int, batch: int, every_item: bool = False,
                 upto: int | None = None) -> list[int]:  # fmt: skip
    """Ids of the parent's items after ``after`` (up to ``upto``) that ``link`` has not
    handled: consolidated ones, or all of them (``every_item``), at most ``batch``."""
    items = Item.objects.filter(job_id=link.parent_id, pk__gt=after).order_by("id")
    if upto is not None:
        items = items.filter(pk__lte=upto)
    if not every_item:
        items = items.filter(status=ItemStatus.LABELED)
    handled = ChainPassage.objects.filter(link=link).values("parent_item_id")
    return list(items.exclude(pk__in=handled).values_list("id", flat=True)[:batch])


def _pass_batch(link: ChainLink, ids: list[int]) -> int:
    done = 0
    with transaction.atomic():
        for item_id in ids:
            if chain_item_pass(link=link, parent_item_id=item_id):
                done += 1
    return done


def chain_link_catch_up(*, link_id: int, every_item: bool = False) -> int:
    """Pass the parent's items that have no passage yet: consolidated ones (all, for
    ``every_item``), in batches; the sweep and the link's creation call it. Returns how many."""
    link = ChainLink.objects.select_related("parent", "child").get(pk=link_id)
    done = 0
    last = 0
    while ids := _pending_ids(link, after=last, batch=PASS_BATCH, every_item=every_item):
        done += _pass_batch(link, ids)
        last = ids[-1]
    return done


def _matches(link: ChainLink, consolidated: ConsolidatedLabel | None) -> str:
    """Why the parent item's label does not meet the link's filter ("" when it does)."""
    if link.continues:
        return ""
    if consolidated is None:
        return "the parent item has no label"
    if link.labels and consolidated.label not in link.labels:
        return f"label {consolidated.label!r} is not one of {', '.join(link.labels)}"
    if link.confidence_below is not None and consolidated.confidence >= link.confidence_below:
        return f"confidence {consolidated.confidence:.3f} is not below {link.confidence_below}"
    if link.machine_labeled_only and consolidated.human_annotated:
        return "labeled by people, not by a model"
    return ""


_UNREAD = object()


def chain_item_pass(*, link: ChainLink, parent_item_id: int, consolidated=_UNREAD) -> str:
    """Bring one parent item's passage along ``link`` up to date with its label (inside a
    transaction; idempotent). Returns what happened: "passed", "filtered", "withdrawn",
    "updated" or "" (nothing to do). ``consolidated``: the item's label, if already read."""
    with transaction.atomic():
        passage = (
            ChainPassage.objects.select_for_update()
            .filter(link=link, parent_item_id=parent_item_id)
            .first()
        )
        if consolidated is _UNREAD:
            consolidated = ConsolidatedLabel.objects.filter(item_id=parent_item_id).first()
        if consolidated is None and not link.continues:
            if passage is None or passage.status != PassageStatus.PASSED:
                return ""
            return _withdraw(link, passage, "the parent item's label was taken back")
        problem = _matches(link, consolidated)
        labeled_at = _labeled_at(consolidated)
        if passage is None:
            passage = ChainPassage(link=link, parent_item_id=parent_item_id, labeled_at=labeled_at)
            try:
                with transaction.atomic():
                    if problem:
                        passage.status = PassageStatus.FILTERED
                        passage.reason = problem[:300]
                        passage.save()
                        return "filtered"
                    passage.status = PassageStatus.PASSED
                    passage.save()
            except IntegrityError:
                return ""  # another worker passed it meanwhile
            passage.child_item = _child_item_add(link, parent_item_id, consolidated)
            passage.save(update_fields=["child_item", "passed_at"])
            return "passed"
        if passage.status == PassageStatus.PASSED:
            if problem:
                return _withdraw(link, passage, f"relabeled in the parent: {problem}")
            return _child_item_refresh(link, passage, consolidated)
        if problem:  # still left out: keep the newest reason
            if passage.reason != problem[:300] and passage.status == PassageStatus.FILTERED:
                passage.reason = problem[:300]
                passage.save(update_fields=["reason", "passed_at"])
            return ""
        passage.status = PassageStatus.PASSED
        passage.reason = ""
        passage.labeled_at = labeled_at
        passage.child_item = _child_item_add(link, parent_item_id, consolidated)
        passage.save(update_fields=["status", "reason", "labeled_at", "child_item", "passed_at"])
        return "passed"


def _labeled_at(consolidated: ConsolidatedLabel | None):
    if consolidated is None:
        return None
    return consolidated.reviewed_at or consolidated.created_at


def _child_line(link: ChainLink, parent_item_id: int) -> str:
    parent = link.parent
    if link.continues:  # the stored input line: the child writes the same attribute again
        return Item.objects.values_list("data", flat=True).get(pk=parent_item_id)
    return item_manifest_line(parent, parent_item_id).rstrip("\n")


def _child_item_add(
    link: ChainLink, parent_item_id: int, consolidated: ConsolidatedLabel | None
) -> Item:
    # The link's child as loaded with it (a flow reads it once per item), else read now.
    child = link.child if "child" in link._state.fields_cache else Job.objects.get(pk=link.child_id)
    labeled = link.continues and consolidated is not None
    item = Item.objects.create(
        job_id=child.pk,
        data=_child_line(link, parent_item_id),
        status=ItemStatus.LABELED if labeled else ItemStatus.OPEN,
    )
    if labeled:
        ConsolidatedLabel.objects.create(
            item=item,
            job_id=child.pk,
            value=consolidated.value,
            label=consolidated.label,
            confidence=consolidated.confidence,
            method=consolidated.method or CONTINUATION_METHOD,
            human_annotated=consolidated.human_annotated,
            answers_count=consolidated.answers_count,
        )
    if child.status == JobStatus.COMPLETED and not labeled:
        job_reopen(job=child, by=None)
    if child.status == JobStatus.DRAFT:  # counted like imported items, so the job can start
        Job.objects.filter(pk=child.pk).update(items_total=F("items_total") + 1)
    job_counters_add(
        job_id=child.pk,
        shard_key=parent_item_id,
        items_labeled=1 if labeled else 0,
        answers=0,
        items_added=0 if child.status == JobStatus.DRAFT else 1,
    )
    return item


def _child_item_refresh(
    link: ChainLink, passage: ChainPassage, consolidated: ConsolidatedLabel | None
) -> str:
    """The parent's label changed but still meets the filter: the child's line carries the
    new one (a continuation keeps its own copy of the label: it is the child's now)."""
    if link.continues or passage.child_item_id is None:
        return ""
    line = _child_line(link, passage.parent_item_id)
    updated = Item.objects.filter(pk=passage.child_item_id).exclude(data=line).update(data=line)
    if updated:
        passage.labeled_at = _labeled_at(consolidated)
        passage.save(update_fields=["labeled_at", "passed_at"])
    return "updated" if updated else ""


def _withdraw(link: ChainLink, passage: ChainPassage, reason: str) -> str:
    """Take the item out of the child: gone if nobody answered it; else kept with its
    answers and history, marked withdrawn with the reason."""
    child_item = (
        Item.objects.select_for_update().filter(pk=passage.child_item_id).first()
        if passage.child_item_id
        else None
    )
    if child_item is not None:
        # What the child passed on goes with it (a taxonomy's deeper levels).
        for link_below in ChainLink.objects.filter(parent_id=child_item.job_id):
            below = (
                ChainPassage.objects.select_for_update()
                .filter(link=link_below, parent_item_id=child_item.pk, status=PassageStatus.PASSED)
                .first()
            )
            if below is not None:
                _withdraw(link_below, below, f"its parent item was withdrawn: {reason}")
        answered = Annotation.objects.filter(item_id=child_item.pk).exists()
        if answered or child_item.status == ItemStatus.LABELED:
            item_event_record(
                job_id=child_item.job_id,
                item_id=child_item.pk,
                kind="withdrawn",
                data={"reason": reason[:300], "parent_item_id": passage.parent_item_id},
            )
        else:
            Item.objects.filter(pk=child_item.pk).delete()
            drafts = Job.objects.filter(pk=child_item.job_id, status=JobStatus.DRAFT)
            if not drafts.update(items_total=F("items_total") - 1):
                job_counters_add(
                    job_id=child_item.job_id,
                    shard_key=passage.parent_item_id,
                    items_labeled=0,
                    answers=0,
                    items_added=-1,
                )
            passage.child_item = None
    passage.status = PassageStatus.WITHDRAWN
    passage.reason = reason[:300]
    passage.save(update_fields=["status", "reason", "child_item", "passed_at"])
    return "withdrawn"


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


# Items a drain passes per transaction: small, so each batch is visible in the child soon.
DRAIN_BATCH = 25


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
            ids = _pending_ids(link, after=last[link.pk], batch=DRAIN_BATCH, upto=newest)
            if ids:
                passed += _pass_batch(link, ids)
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
