"""Receivers of the labeling app's events: a consolidated item of a flow's job ends its loop."""

from typing import Any

from django.db import connection

from workflows.models import HumanLoop
from workflows.services.loops import human_loop_complete

# Every consolidated item of every job asks this: one plain index probe (issue 20: the ORM's
# compiling of the query cost more than the read).
_ITEM_HAS_LOOP = f"SELECT 1 FROM {HumanLoop._meta.db_table} WHERE item_id = %s LIMIT 1"


def complete_loop_of_item(sender: Any, *, item_id: int, **_: Any) -> None:
    """Sent after the submit that consolidated the item commits. If this process dies first,
    the periodic sweep completes the loop."""
    with connection.cursor() as cursor:
        cursor.execute(_ITEM_HAS_LOOP, [item_id])
        has_loop = cursor.fetchone() is not None
    if has_loop:
        human_loop_complete(item_id=item_id)
