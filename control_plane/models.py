"""What the managed service's shapes hold beyond Quorum's own jobs, teams and flows.

Each record belongs to the Quorum object it describes (a job, a team, a flow) and keeps the
request as it came, so Describe answers with what the script sent (RoleArn, KMS keys and
tags are accepted, kept and otherwise ignored).
"""

from django.db import models

from labeling.models import ImportRun, Job, Team
from workflows.models import Flow


class LabelingJobStatus(models.TextChoices):
    # The managed service's names; clients compare them as strings.
    INITIALIZING = "Initializing"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class LabelingJobSpec(models.Model):
    """A labeling job created through the control plane: its request and its input's import."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="labeling_job_spec")
    request = models.JSONField()
    import_run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the job could not start (the manifest could not be read or a line is bad).
    failure_reason = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class WorkteamSpec(models.Model):
    """A work team created or updated through the control plane: its member definitions,
    notification configuration and the rest of its request."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="workteam_spec")
    request = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)


class FlowDefinitionSpec(models.Model):
    """A flow definition created through the control plane: its request, and when it became
    Active (Initializing until the task that checks its backing job has run)."""

    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="definition_spec")
    request = models.JSONField()
    activated_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=1024, blank=True)
