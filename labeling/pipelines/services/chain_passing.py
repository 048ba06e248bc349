"""Passing a parent's items along a chain link (issue 16 point 1): in batches as the parent
consolidates them, one at a time when a relabel moves one, and withdrawing what no longer
matches. Each parent item's fate is one ``ChainPassage`` row per link (``chains.py`` makes
the links and runs the drains and sweeps that call these)."""

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef

from labeling.data.exports import item_manifest_line, manifest_lines_of
from labeling.models import (
    Annotation,
    ChainLink,
    ChainPassage,
    ConsolidatedLabel,
    Item,
    Job,
    PassageStatus,
)
from labeling.services.counters import job_counters_add
from labeling.services.item_events import item_event_record
from labeling.services.item_text import item_text_store
from labeling.services.label_classes import consolidated_classes_write
from labeling.services.revisions import job_reopen
from labeling.states import ItemStatus, JobStatus

CONTINUATION_METHOD = "continued"


def chain_pending_items(link: ChainLink, *, after: int, batch: int, every_item: bool = False,
                 upto: int | None = None) -> list[int]:  # fmt: skip
    """Ids of the parent's items after ``after`` (up to ``upto``) that ``link`` has not
    handled: consolidated ones, or all of them (``every_item``), at most ``batch``."""
    items = Item.objects.filter(job_id=link.parent_id, pk__gt=after).order_by("id")
    if upto is not None:
        items = items.filter(pk__lte=upto)
    if not every_item:
        items = items.filter(status=ItemStatus.LABELED)
    # NOT EXISTS: an anti join through the passages' (link, parent item) index, where NOT IN
    # would read every passage of the link.
    handled = ChainPassage.objects.filter(link=link, parent_item_id=OuterRef("pk"))
    return list(items.exclude(Exists(handled)).values_list("id", flat=True)[:batch])


def chain_items_pass(link: ChainLink, ids: list[int]) -> int:
    """Pass the parent items ``ids`` (found without a passage) along ``link``: one statement
    per kind of row for the whole batch, not a dozen per item. Returns how many it passed."""
    try:
        return _pass_new_items(link, ids)
    except IntegrityError:  # a relabel's flow passed one of them meanwhile: one by one
        done = 0
        with transaction.atomic():
            for item_id in ids:
                if chain_item_pass(link=link, parent_item_id=item_id) == "passed":
                    done += 1
        return done


def _pass_new_items(link: ChainLink, ids: list[int]) -> int:
    with transaction.atomic():
        # The drains and sweeps of a link take turns on its row; under it, the items that
        # still have no passage are read again.
        list(ChainLink.objects.select_for_update().filter(pk=link.pk).values_list("pk"))
        handled = set(
            ChainPassage.objects.filter(link=link, parent_item_id__in=ids).values_list(
                "parent_item_id", flat=True
            )
        )
        labels = {
            label.item_id: label for label in ConsolidatedLabel.objects.filter(item_id__in=ids)
        }
        passing, passages = [], []
        for item_id in ids:
            consolidated = labels.get(item_id)
            if item_id in handled or (consolidated is None and not link.continues):
                continue  # as chain_item_pass: nothing to do for it
            passage = ChainPassage(
                link=link, parent_item_id=item_id, labeled_at=_labeled_at(consolidated)
            )
            problem = _matches(link, consolidated)
            passage.status = PassageStatus.FILTERED if problem else PassageStatus.PASSED
            passage.reason = problem[:300]
            passages.append(passage)
            if not problem:
                passing.append((passage, consolidated))
        if passing:
            _child_items_add(link, passing)
        ChainPassage.objects.bulk_create(passages)
    return len(passing)


def _child_items_add(link: ChainLink, passing: list[tuple[ChainPassage, object]]) -> None:
    """The child's items of a batch of passages (set on each passage), counted at once."""
    child = link.child if "child" in link._state.fields_cache else Job.objects.get(pk=link.child_id)
    parent_ids = [passage.parent_item_id for passage, _ in passing]
    if link.continues:
        lines = dict(Item.objects.filter(pk__in=parent_ids).values_list("id", "data"))
    else:
        lines = {
            key: line.rstrip("\n")
            for key, line in manifest_lines_of(link.parent, parent_ids).items()
        }
    labeled = [link.continues and consolidated is not None for _, consolidated in passing]
    items = Item.objects.bulk_create(
        [
            Item(
                job_id=child.pk,
                data=lines[passage.parent_item_id],
                status=ItemStatus.LABELED if is_labeled else ItemStatus.OPEN,
            )
            for (passage, _), is_labeled in zip(passing, labeled, strict=True)
        ]
    )
    continued = ConsolidatedLabel.objects.bulk_create(
        [
            _continued_label(item, child, consolidated)
            for item, (_, consolidated), is_labeled in zip(items, passing, labeled, strict=True)
            if is_labeled
        ]
    )
    consolidated_classes_write(task_type=child.task_type, consolidated=continued, replace=False)
    for item, (passage, _) in zip(items, passing, strict=True):
        passage.child_item = item
    item_text_store(
        job_id=child.pk,
        first_item_id=min(item.pk for item in items),
        last_item_id=max(item.pk for item in items),
    )
    opened = labeled.count(False)
    if child.status == JobStatus.COMPLETED and opened:
        job_reopen(job=child, by=None)
    if child.status == JobStatus.DRAFT:  # counted like imported items, so the job can start
        Job.objects.filter(pk=child.pk).update(items_total=F("items_total") + len(items))
    job_counters_add(
        job_id=child.pk,
        shard_key=parent_ids[0],
        items_labeled=len(items) - opened,
        answers=0,
        items_added=0 if child.status == JobStatus.DRAFT else len(items),
    )


def _continued_label(item: Item, child: Job, consolidated) -> ConsolidatedLabel:
    """A continuation's copy of the parent's label: the child's own from now on."""
    return ConsolidatedLabel(
        item=item,
        job_id=child.pk,
        value=consolidated.value,
        label=consolidated.label,
        confidence=consolidated.confidence,
        method=consolidated.method or CONTINUATION_METHOD,
        human_annotated=consolidated.human_annotated,
        answers_count=consolidated.answers_count,
    )


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
    item_text_store(job_id=child.pk, first_item_id=item.pk, last_item_id=item.pk)
    if labeled:
        continued = _continued_label(item, child, consolidated)
        continued.save(force_insert=True)
        consolidated_classes_write(
            task_type=child.task_type, consolidated=[continued], replace=False
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
        item_text_store(
            job_id=link.child_id,
            first_item_id=passage.child_item_id,
            last_item_id=passage.child_item_id,
        )
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
