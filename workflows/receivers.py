"""Receivers of the labeling app's events: a consolidated item of a flow's job ends its loop."""

from typing import Any

from workflows.models import HumanLoop
from workflows.services.loops import human_loop_complete


def complete_loop_of_item(sender: Any, *, item_id: int, **_: Any) -> None:
    """Sent after the submit that consolidated the item commits. If this process dies first,
    the periodic sweep completes the loop."""
    if HumanLoop.objects.filter(item_id=item_id).exists():
        human_loop_complete(item_id=item_id)
