"""Input and output serializers of the review-loop API. They validate and shape; never write."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import MAX_WORKERS_PER_ITEM, Job, Team
from labeling.task_types import get_task_type, task_type_choices
from labeling.task_ui.selectors import job_custom_source
from workflows.inference import TASK_TYPE_SOURCES
from workflows.models import HumanLoop, WebhookDelivery
from workflows.services.loops import flow_arn
from workflows.states import FlowStatus, HumanLoopStatus
from workflows.task_types import base_task_type


class FlowIn(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    task_type = serializers.ChoiceField(choices=[])
    labels = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        help_text="Required, except for the built-in reviews: document-key-value-review (the "
        "important keys its conditions name) and image-moderation-review (the moderation "
        "taxonomy's top-level categories) have defaults.",
    )
    workers_per_loop = serializers.IntegerField(
        min_value=1, max_value=MAX_WORKERS_PER_ITEM, default=1
    )
    task_time_limit_seconds = serializers.IntegerField(
        min_value=30, max_value=8 * 3600, default=300
    )
    loop_lifetime_seconds = serializers.IntegerField(
        min_value=60, max_value=30 * 86400, default=24 * 3600
    )
    short_instructions = serializers.CharField(allow_blank=True, default="")
    full_instructions = serializers.CharField(allow_blank=True, default="")
    conditions = serializers.JSONField(required=False, default=dict)
    sample_percent = serializers.FloatField(
        min_value=0.01, max_value=100, required=False, allow_null=True, default=None
    )
    source_key = serializers.CharField(max_length=100, default="source")
    webhook_url = serializers.URLField(max_length=500, allow_blank=True, default="")
    dataset_job = serializers.PrimaryKeyRelatedField(
        queryset=Job.objects.all(), required=False, allow_null=True, default=None
    )
    custom_template = serializers.CharField(
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="A Jinja2 task UI (rendered sandboxed) instead of the built-in review UI; it "
        "sees task.input (source, prediction, quorum-human-loop), task.labels and instructions.",
    )
    data_may_leave_private = serializers.BooleanField(
        default=False,
        help_text="Required for a crowd or vendor team (the personal-data rule); every loop "
        "must then declare DataAttributes.ContentClassifiers FreeOfPersonallyIdentifiable"
        "Information and FreeOfAdultContent.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The built-in reviews (document key values, image moderation) are for flows only.
        builtin = [(key, get_task_type(key).title) for key in TASK_TYPE_SOURCES]
        self.fields["task_type"].choices = task_type_choices() + builtin


class FlowStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=FlowStatus.choices)


class FlowOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    arn = serializers.SerializerMethodField()
    status = serializers.CharField()
    team = serializers.IntegerField(source="team_id")
    job = serializers.IntegerField(source="job_id")
    task_type = serializers.SerializerMethodField()
    labels = serializers.ListField(source="job.labels", child=serializers.CharField())
    workers_per_loop = serializers.IntegerField(source="job.workers_per_item")
    task_time_limit_seconds = serializers.IntegerField(source="job.task_time_limit_seconds")
    loop_lifetime_seconds = serializers.IntegerField()
    conditions = serializers.JSONField()
    sample_percent = serializers.FloatField(allow_null=True)
    source_key = serializers.CharField()
    webhook_url = serializers.CharField()
    dataset_job = serializers.IntegerField(source="dataset_job_id", allow_null=True)
    custom_template = serializers.SerializerMethodField()
    predictions_total = serializers.IntegerField()
    predictions_reviewed = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_task_type(self, flow) -> str:
        return base_task_type(flow.job.task_type)

    def get_custom_template(self, flow) -> str:
        """The source of the custom task UI the flow's job renders, "" for the built-in one."""
        return job_custom_source(job_id=flow.job_id) or ""

    def get_arn(self, flow) -> str:
        return flow_arn(flow)


class FlowBriefOut(serializers.Serializer):
    """What a labeler sees of a flow they review for: no conditions, audit shares or webhook."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(source="job.short_instructions")
    task_type = serializers.SerializerMethodField()

    def get_task_type(self, flow) -> str:
        return base_task_type(flow.job.task_type)


class FlowCreatedOut(FlowOut):
    webhook_secret = serializers.CharField(
        help_text="Shown once, at creation: the key of the webhook's HMAC-SHA256 signature."
    )


class PredictionsIn(serializers.Serializer):
    predictions = serializers.ListField(child=serializers.JSONField(), min_length=1)


class RoutedOut(serializers.Serializer):
    id = serializers.CharField()
    decision = serializers.ChoiceField(choices=["accepted", "review"])
    loop = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    repeated = serializers.BooleanField(required=False)


class RoutingOut(serializers.Serializer):
    results = RoutedOut(many=True)


class LoopStartIn(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    input = serializers.JSONField()
    prediction = serializers.JSONField(required=False, default=dict)
    content_classifiers = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        help_text="FreeOfPersonallyIdentifiableInformation and FreeOfAdultContent: both "
        "required when the flow's team is a crowd or a vendor.",
    )


class LoopQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=HumanLoopStatus.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    sort = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    cursor = serializers.CharField(required=False, max_length=8192)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class LoopOut(serializers.ModelSerializer):
    flow = serializers.CharField(source="flow.name")

    class Meta:
        model = HumanLoop
        fields = ["name", "flow", "status", "created_at", "failure_reason"]


class LoopDetailOut(serializers.ModelSerializer):
    flow = serializers.CharField(source="flow.name")
    input = serializers.SerializerMethodField()

    class Meta:
        model = HumanLoop
        fields = [
            "name",
            "flow",
            "status",
            "created_at",
            "expires_at",
            "completed_at",
            "failure_reason",
            "failure_code",
            "model_label",
            "model_confidence",
            "human_label",
            "agrees",
            "input",
            "output",
        ]

    @extend_schema_field(OpenApiTypes.ANY)
    def get_input(self, loop) -> object:
        return json.loads(loop.input_content)


class LoopPageOut(serializers.Serializer):
    loops = LoopOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class DeliveryOut(serializers.ModelSerializer):
    loop = serializers.CharField(source="loop.name", allow_null=True, default=None)

    class Meta:
        model = WebhookDelivery
        fields = [
            "delivery_id",
            "event",
            "loop",
            "url",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "created_at",
            "next_attempt_at",
            "finished_at",
        ]
