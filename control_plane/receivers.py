"""Receivers of the labeling app's events: an imported manifest starts its labeling job."""

from typing import Any

from control_plane.services.labeling_jobs import labeling_job_after_import


def start_job_after_import(
    sender: Any, *, job_id: int, import_id: int, status: str, **_: Any
) -> None:
    labeling_job_after_import(job_id=job_id, import_id=import_id, status=status)
