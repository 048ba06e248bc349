"""Receivers of the labeling app's events: a consolidated item of a flow's job ends its loop."""

from typing import Any

from django.db import connection

from labeling.job_probes import job_probe, register_job_probe
from workflows.models import Flow, HumanLoop
from workflows.services.loops import human_loop_complete

# Every consolidated item of every job asks this. Only a flow's job has loops: that is a job
# probe, answered by the submit's first statement (labeling/job_probes.py, issue 20); the
# item's own probe runs for a flow's items only. (A loop's item is created with its loop, so
# the job is a flow's before any of its items is answered.)
FLOW_JOB_PROBE = "workflows.flow_job"
register_job_probe(
    FLOW_JOB_PROBE, f"EXISTS (SELECT 1 FROM {Flow._meta.db_table} WHERE job_id = {{job}})"
)
_ITEM_HAS_LOOP = f"SELECT 1 FROM {HumanLoop._meta.db_table} WHERE item_id = %s LIMIT 1"


def complete_loop_of_item(sender: Any, *, job_id: int, item_id: int, **_: Any) -> None:
    """Sent after the submit that consolidated the item commits. If this process dies first,
    the periodic sweep completes the loop."""
    if not job_probe(FLOW_JOB_PROBE, job_id):
        return
    with connection.cursor() as cursor:
        cursor.execute(_ITEM_HAS_LOOP, [item_id])
        has_loop = cursor.fetchone() is not None
    if has_loop:
        human_loop_complete(item_id=item_id)
