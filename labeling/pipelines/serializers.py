"""Shapes of the pipelines API (issue 16, docs/pipelines.md): chains and taxonomies,
streaming settings, items posted, the results feed, hooks and a job's hooks. They validate and
shape; they never write."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.converters import ObjectIdField
from labeling.models import AnnotationHook, HookCall
from labeling.pipelines.services.streaming import (
    MAX_ITEM_LIFETIME_SECONDS,
    MIN_ITEM_LIFETIME_SECONDS,
)


class StreamSettingsIn(serializers.Serializer):
    item_lifetime_seconds = serializers.IntegerField(
        required=False, min_value=MIN_ITEM_LIFETIME_SECONDS, max_value=MAX_ITEM_LIFETIME_SECONDS
    )
    webhook_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    webhook_secret = serializers.CharField(
        required=False, allow_blank=True, max_length=200, write_only=True
    )


class StreamCountsOut(serializers.Serializer):
    items_posted = serializers.IntegerField()
    items_expired = serializers.IntegerField()
    results = serializers.IntegerField()
    deliveries_succeeded = serializers.IntegerField()
    deliveries_pending = serializers.IntegerField()
    deliveries_failed = serializers.IntegerField()


class StreamSettingsOut(serializers.Serializer):
    job = serializers.IntegerField(source="job_id")
    item_lifetime_seconds = serializers.IntegerField()
    webhook_url = serializers.CharField()
    has_webhook_secret = serializers.SerializerMethodField()
    input_topic_arn = serializers.CharField()
    output_topic_arn = serializers.CharField()
    counts = serializers.SerializerMethodField()

    def get_has_webhook_secret(self, stream) -> bool:
        return bool(stream.webhook_secret)

    @extend_schema_field(StreamCountsOut)
    def get_counts(self, stream) -> dict:
        return StreamCountsOut(self.context["counts"]).data


class StreamItemOut(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.IntegerField(source="item_id")
    clientKey = serializers.CharField(source="client_key")  # noqa: N815 - the API's spelling
    created = serializers.BooleanField()


class StreamItemsOut(serializers.Serializer):
    items = StreamItemOut(many=True)


class StreamResultsOut(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="events in order: item.consolidated, item.relabeled, item.expired",
    )
    cursor = serializers.CharField(help_text="pass as ?after= to read on")


# --- Hooks -----------------------------------------------------------------------------------


class HookIn(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    callable_path = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    secret = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", write_only=True
    )
    timeout_seconds = serializers.FloatField(required=False, default=10.0)
    arn = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


class HookChangeIn(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    callable_path = serializers.CharField(max_length=300, required=False)
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True)
    timeout_seconds = serializers.FloatField(required=False)
    arn = serializers.CharField(max_length=256, required=False, allow_blank=True)


class HookOut(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()

    class Meta:
        model = AnnotationHook
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "callable_path",
            "timeout_seconds",
            "arn",
            "created_at",
        ]

    def get_kind(self, hook: AnnotationHook) -> str:
        return "http" if hook.url else "callable"


class HookCreatedOut(HookOut):
    secret = serializers.CharField(
        help_text="the secret that signs every call (X-Quorum-Signature); shown this once"
    )

    class Meta(HookOut.Meta):
        fields = [*HookOut.Meta.fields, "secret"]


class JobHooksIn(serializers.Serializer):
    pre_hook = ObjectIdField(allow_null=True, required=False, default=None)
    consolidation_hook = ObjectIdField(allow_null=True, required=False, default=None)
    payload_inline = serializers.BooleanField(required=False, default=False)


class HookCallOut(serializers.ModelSerializer):
    hook = serializers.CharField(source="hook.name", default=None)

    class Meta:
        model = HookCall
        fields = [
            "id",
            "hook",
            "item_id",
            "kind",
            "attempt",
            "ok",
            "http_status",
            "error",
            "called_at",
            "duration_ms",
        ]


class HookFailureOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    failure_reason = serializers.CharField()


class HookCountsOut(serializers.Serializer):
    held = serializers.IntegerField()
    failed = serializers.IntegerField()
    no_human = serializers.IntegerField()


class JobHookOut(HookOut):
    """A job's hook: all of it for its owner; for another manager (the job is every manager's,
    the hook its owner's: docs/pipelines.md) its id, name and kind, the rest empty."""

    OWNERS_ONLY = ("url", "callable_path", "arn")

    def to_representation(self, hook: AnnotationHook) -> dict:
        shown = super().to_representation(hook)
        if hook.owner_id != self.context.get("viewer_id"):
            shown.update(dict.fromkeys(self.OWNERS_ONLY, ""))
        return shown


class JobHooksOut(serializers.Serializer):
    pre_hook = JobHookOut(allow_null=True)
    consolidation_hook = JobHookOut(allow_null=True)
    payload_inline = serializers.BooleanField()
    items = HookCountsOut()
    recent_calls = HookCallOut(many=True)
    failures = HookFailureOut(many=True)


# -- chains (p16-chain) -----------------------------------------------------------------------
class ChainLinkIn(serializers.Serializer):
    parent_id = ObjectIdField(help_text="the job whose output this job takes")
    labels = serializers.JSONField(
        required=False, help_text="only items whose consolidated label is one of these"
    )
    confidence_below = serializers.JSONField(
        required=False, help_text="only items whose confidence is below this (0..1]"
    )
    machine_labeled_only = serializers.JSONField(
        required=False, help_text="only items a model labeled (true/false)"
    )


class ChainFilterOut(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())
    confidence_below = serializers.FloatField(allow_null=True)
    machine_labeled_only = serializers.BooleanField()


class ChainEdgeOut(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField()
    child = serializers.IntegerField()
    filter = ChainFilterOut()
    continues = serializers.BooleanField()
    passed = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="labeled in the parent, not passed on yet")
    filtered_out = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="the parent's items not labeled yet")


class ChainJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    label_attribute_name = serializers.CharField()
    status = serializers.CharField()
    depth = serializers.IntegerField()
    items = serializers.IntegerField()
    labeled = serializers.IntegerField()


class ChainGraphOut(serializers.Serializer):
    root = serializers.IntegerField()
    taxonomy = serializers.IntegerField(allow_null=True)
    jobs = ChainJobOut(many=True)
    edges = ChainEdgeOut(many=True)


class TaxonomyIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    team_id = ObjectIdField()
    task_type = serializers.CharField(max_length=64)
    definition = serializers.JSONField(
        help_text='a tree of nodes {"labels": [...], "children": {"<label>": node}}'
    )
    attributes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="one label attribute per level"
    )
    workers_per_item = serializers.IntegerField(min_value=1, max_value=9, default=1)
    short_instructions = serializers.CharField(required=False, allow_blank=True, default="")


class TaxonomyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    root_job = serializers.IntegerField(source="root_job_id")
    definition = serializers.JSONField()
    created_at = serializers.DateTimeField()
