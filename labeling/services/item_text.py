"""The data manager's search text (``ItemText``): a copy of each item's data in a table of its
own, written after the commit that creates the items, in bulk, by a Celery worker.

Every path that creates items or changes their data calls ``item_text_store`` inside its
transaction. A few items (``ITEM_TEXT_INLINE``) get their text at once; more (an import) go to
the job's backlog (``ItemTextBacklog``: a range of item ids) and a worker writes their text in
batches of ``ITEM_TEXT_BATCH`` after the commit. The search reads the backlog's items' data
itself meanwhile (``labeling/console/query.py``), so no item is ever missing from a search.
"""

from celery import current_app
from django.db import connection, transaction

from labeling.after_commit import on_commit_safely
from labeling.models import ItemTextBacklog

ITEM_TEXT_FILL_TASK = "labeling.item_text_fill"
# Ranges up to this many ids are written in the caller's transaction: one statement, a few
# dozen trigram entries each, cheaper than a task's round trip through the broker.
ITEM_TEXT_INLINE = 100
# Item ids written per transaction of the fill.
ITEM_TEXT_BATCH = 5_000

# Text copied from the items as they are now; a row already there is rewritten only when
# the item's data changed (its index entries are not touched otherwise).
_WRITE = """
INSERT INTO labeling_itemtext (item_id, text)
SELECT id, data FROM labeling_item WHERE job_id = %s AND id >= %s AND id <= %s
ON CONFLICT (item_id) DO UPDATE SET text = excluded.text
WHERE labeling_itemtext.text <> excluded.text
"""


def _write(job_id: int, first_item_id: int, last_item_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_WRITE, [job_id, first_item_id, last_item_id])
        return max(cursor.rowcount, 0)


def item_text_store(*, job_id: int, first_item_id: int, last_item_id: int) -> None:
    """Inside the transaction that created the job's items with ids ``first_item_id`` to
    ``last_item_id`` (other jobs' ids between them are left alone), or changed their data:
    make them searchable. A few are written now; more go to the backlog, written after the
    commit by ``item_text_fill`` (enqueued then; the beat's sweep is the backstop)."""
    if first_item_id > last_item_id:
        raise ValueError(f"the first item id ({first_item_id}) is above the last ({last_item_id})")
    if last_item_id - first_item_id < ITEM_TEXT_INLINE:
        _write(job_id, first_item_id, last_item_id)
        return
    ItemTextBacklog.objects.create(
        job_id=job_id, first_item_id=first_item_id, last_item_id=last_item_id
    )
    on_commit_safely(
        lambda: current_app.signature(ITEM_TEXT_FILL_TASK).delay(),
        what=f"enqueuing the search text of job {job_id}",
    )


def item_text_fill(*, batch: int = ITEM_TEXT_BATCH) -> int:
    """Write the search text of up to ``batch`` item ids of the backlog's oldest range that no
    other worker holds, in one transaction, and take them off the backlog. Returns how many
    ids it covered: 0 when the backlog has nothing left to take."""
    if batch < 1:
        raise ValueError(f"batch is at least 1, not {batch}")
    with transaction.atomic():
        backlog = ItemTextBacklog.objects.select_for_update(skip_locked=True).order_by("id").first()
        if backlog is None:
            return 0
        last = min(backlog.last_item_id, backlog.first_item_id + batch - 1)
        _write(backlog.job_id, backlog.first_item_id, last)
        if last == backlog.last_item_id:
            backlog.delete()
        else:
            ItemTextBacklog.objects.filter(pk=backlog.pk).update(first_item_id=last + 1)
        return last - backlog.first_item_id + 1
