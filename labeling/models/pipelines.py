"""Models of pipelines (issue 16): chains and taxonomies, streaming jobs, annotation hooks.

One section per part; each part keeps its state in its own tables, linked to jobs and items,
so the core's ``Job`` and ``Item`` stay as they are.
"""

# --- Hooks (issue 16 point 5; docs/pipelines.md "Pre- and post-annotation hooks") ----------

from django.conf import settings as _hooks_settings  # noqa: E402
from django.db import models as _hooks_models  # noqa: E402
from django.db.models import Q as _HooksQ  # noqa: E402


class AnnotationHook(_hooks_models.Model):
    """A pre-annotation or consolidation hook: an HTTP endpoint (its secret signs every call)
    or a Python callable named by a dotted path that ``QUORUM_HOOK_CALLABLES`` allows."""

    name = _hooks_models.CharField(max_length=64)
    owner = _hooks_models.ForeignKey(
        _hooks_settings.AUTH_USER_MODEL, on_delete=_hooks_models.CASCADE, related_name="+"
    )
    url = _hooks_models.CharField(max_length=2000, blank=True)
    callable_path = _hooks_models.CharField(max_length=300, blank=True)
    secret_encrypted = _hooks_models.TextField(blank=True)
    timeout_seconds = _hooks_models.FloatField(default=10.0)
    # The Lambda ARN a CreateLabelingJob names for it (control plane); "" for none.
    arn = _hooks_models.CharField(max_length=256, blank=True)
    created_at = _hooks_models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            _hooks_models.UniqueConstraint(fields=["owner", "name"], name="hook_owner_name"),
            _hooks_models.UniqueConstraint(
                fields=["arn"], condition=~_HooksQ(arn=""), name="hook_arn_unique"
            ),
            _hooks_models.CheckConstraint(
                condition=(_HooksQ(url="") & ~_HooksQ(callable_path=""))
                | (~_HooksQ(url="") & _HooksQ(callable_path="")),
                name="hook_url_xor_callable",
            ),
        ]


class JobHooks(_hooks_models.Model):
    """The hooks a job names: a pre-annotation hook, a consolidation hook, or both."""

    job = _hooks_models.OneToOneField(
        "labeling.Job", on_delete=_hooks_models.CASCADE, related_name="hooks"
    )
    pre_hook = _hooks_models.ForeignKey(
        AnnotationHook,
        on_delete=_hooks_models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    consolidation_hook = _hooks_models.ForeignKey(
        AnnotationHook,
        on_delete=_hooks_models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The consolidation event's payload: inline (``payload`` holds the document) or by a
    # signed, expiring URL (``payload.s3Uri``), as the managed service sent it.
    payload_inline = _hooks_models.BooleanField(default=False)


class HookKind(_hooks_models.TextChoices):
    PRE = "pre", "Pre-annotation"
    CONSOLIDATION = "consolidation", "Consolidation"


class HookItemStatus(_hooks_models.TextChoices):
    PENDING = "pending", "Waiting for the hook"
    DONE = "done", "Answered"
    FAILED = "failed", "Failed for good"


class HookItem(_hooks_models.Model):
    """An item's state with its job's hooks: the pre-annotation answer (``task_input`` is
    what the task template sees as ``task.input``) and why a hook failed for good."""

    item = _hooks_models.OneToOneField(
        "labeling.Item", on_delete=_hooks_models.CASCADE, related_name="hook_state"
    )
    job = _hooks_models.ForeignKey(
        "labeling.Job", on_delete=_hooks_models.CASCADE, related_name="+"
    )
    pre_status = _hooks_models.CharField(
        max_length=8, choices=HookItemStatus.choices, blank=True, default=""
    )
    task_input = _hooks_models.JSONField(null=True, blank=True)
    human_required = _hooks_models.BooleanField(default=True)
    consolidation_status = _hooks_models.CharField(
        max_length=8, choices=HookItemStatus.choices, blank=True, default=""
    )
    failure_reason = _hooks_models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            _hooks_models.Index(fields=["job", "pre_status"], name="hookitem_job_pre"),
            _hooks_models.Index(
                fields=["job", "consolidation_status"], name="hookitem_job_consolidation"
            ),
        ]


class HookCall(_hooks_models.Model):
    """One call of a hook (each attempt): for which item, how it went, how long it took."""

    hook = _hooks_models.ForeignKey(
        AnnotationHook, on_delete=_hooks_models.SET_NULL, null=True, related_name="calls"
    )
    job = _hooks_models.ForeignKey(
        "labeling.Job", on_delete=_hooks_models.CASCADE, related_name="+"
    )
    item = _hooks_models.ForeignKey(
        "labeling.Item", on_delete=_hooks_models.CASCADE, null=True, related_name="+"
    )
    kind = _hooks_models.CharField(max_length=16, choices=HookKind.choices)
    attempt = _hooks_models.PositiveSmallIntegerField(default=1)
    ok = _hooks_models.BooleanField()
    # The HTTP status (None for a callable, or when no answer came).
    http_status = _hooks_models.PositiveSmallIntegerField(null=True, blank=True)
    error = _hooks_models.CharField(max_length=500, blank=True)
    called_at = _hooks_models.DateTimeField()
    duration_ms = _hooks_models.FloatField()

    class Meta:
        indexes = [
            _hooks_models.Index(fields=["job", "-id"], name="hookcall_job_recent"),
            _hooks_models.Index(
                fields=["job", "-id"], condition=_HooksQ(ok=False), name="hookcall_job_failures"
            ),
        ]
