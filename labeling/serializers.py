"""Input and output serializers of the labeling API. They validate and shape; they never write."""

import json

from rest_framework import serializers

from labeling.models import (
    MAX_WORKERS_PER_ITEM,
    Annotation,
    Assignment,
    Job,
    Role,
    Team,
    TeamKind,
)
from labeling.task_types import get_task_type, task_type_choices, task_type_reserved_message


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=TeamKind.choices, default=TeamKind.PRIVATE)
    description = serializers.CharField(allow_blank=True, default="")


class TeamOut(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "description", "member_count", "created_at"]


class TeamMemberIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class WorkerIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    password = serializers.CharField(required=False, allow_blank=True, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.LABELER)


class WorkerOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)
    token = serializers.CharField(
        help_text="The API token, shown once: for a new user; empty when the user existed."
    )
    created = serializers.BooleanField()


class ExampleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["good", "bad"])
    source = serializers.CharField(allow_blank=True, default="")
    label = serializers.CharField(allow_blank=True, default="")
    explanation = serializers.CharField(allow_blank=True, default="")


class JobTaskTypeField(serializers.ChoiceField):
    """A task type a new job may have; a reserved one is refused by name, saying what it is for."""

    def to_internal_value(self, data):
        message = task_type_reserved_message(str(data))
        if message:
            raise serializers.ValidationError(message, code="reserved_task_type")
        return super().to_internal_value(data)


class JobIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    task_type = JobTaskTypeField(choices=[])
    labels = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    workers_per_item = serializers.IntegerField(
        min_value=1, max_value=MAX_WORKERS_PER_ITEM, default=1
    )
    short_instructions = serializers.CharField(allow_blank=True, default="")
    full_instructions = serializers.CharField(allow_blank=True, default="")
    examples = ExampleSerializer(many=True, required=False)
    label_attribute_name = serializers.CharField(allow_blank=True, default="", max_length=127)
    task_time_limit_seconds = serializers.IntegerField(
        min_value=30, max_value=8 * 3600, default=300
    )
    availability_lifetime_seconds = serializers.IntegerField(
        min_value=60, max_value=30 * 86400, default=10 * 86400
    )
    max_concurrent_tasks_per_worker = serializers.IntegerField(
        min_value=1, max_value=100, default=1
    )
    data_may_leave_private = serializers.BooleanField(
        default=False,
        help_text="The job has no personal data and no adult content: it may go to a crowd "
        "or vendor team. Without it, only private teams may work on the job.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_type"].choices = task_type_choices()


class JobOut(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "label_attribute_name",
            "task_type",
            "labels",
            "short_instructions",
            "full_instructions",
            "examples",
            "team",
            "team_name",
            "workers_per_item",
            "task_time_limit_seconds",
            "availability_lifetime_seconds",
            "max_concurrent_tasks_per_worker",
            "status",
            "status_reason",
            "created_at",
            "started_at",
            "expires_at",
            "finished_at",
        ]


class JobCountsOut(serializers.Serializer):
    items_total = serializers.IntegerField()
    items_labeled = serializers.IntegerField()
    items_remaining = serializers.IntegerField()
    answers_total = serializers.IntegerField()
    answers_needed = serializers.IntegerField()
    leases_active = serializers.IntegerField()


class JobDetailOut(JobOut):
    counts = serializers.SerializerMethodField()

    class Meta(JobOut.Meta):
        fields = [*JobOut.Meta.fields, "counts"]

    def get_counts(self, job) -> dict:
        return self.context["counts"]


class ItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    data = serializers.JSONField()
    media_url = serializers.CharField(allow_null=True)


class LeaseOut(serializers.ModelSerializer):
    assignment_id = serializers.IntegerField(source="pk")
    item = serializers.SerializerMethodField()
    time_limit_seconds = serializers.IntegerField(source="job.task_time_limit_seconds")

    class Meta:
        model = Assignment
        fields = [
            "assignment_id",
            "job_id",
            "status",
            "item",
            "leased_at",
            "expires_at",
            "time_limit_seconds",
        ]

    def get_item(self, assignment) -> dict:
        data = json.loads(assignment.item.data)
        media_url = None
        if get_task_type(assignment.job.task_type).media == "image":
            media_url = f"/api/v1/items/{assignment.item_id}/media"
        return {"id": assignment.item_id, "data": data, "media_url": media_url}


def _timestamp(value) -> str:
    """A datetime as DRF renders it (ISO 8601, UTC as Z)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def lease_payload(assignment) -> dict:
    """``LeaseOut(assignment).data`` without a serializer's cost: the task endpoint is hot.

    tests/labeling/api/test_api_flow.py checks that both give the same body.
    """
    media_url = None
    if get_task_type(assignment.job.task_type).media == "image":
        media_url = f"/api/v1/items/{assignment.item_id}/media"
    return {
        "assignment_id": assignment.pk,
        "job_id": assignment.job_id,
        "status": assignment.status,
        "item": {
            "id": assignment.item_id,
            "data": json.loads(assignment.item.data),
            "media_url": media_url,
        },
        "leased_at": _timestamp(assignment.leased_at),
        "expires_at": _timestamp(assignment.expires_at),
        "time_limit_seconds": assignment.job.task_time_limit_seconds,
    }


class SubmitIn(serializers.Serializer):
    answer = serializers.JSONField()


class AnnotationOut(serializers.ModelSerializer):
    class Meta:
        model = Annotation
        fields = ["id", "assignment_id", "item_id", "answer", "submitted_at", "time_spent_seconds"]


def annotation_payload(annotation) -> dict:
    """``AnnotationOut(annotation).data`` without a serializer's cost (checked in tests)."""
    return {
        "id": annotation.pk,
        "assignment_id": annotation.assignment_id,
        "item_id": annotation.item_id,
        "answer": annotation.answer,
        "submitted_at": _timestamp(annotation.submitted_at),
        "time_spent_seconds": annotation.time_spent_seconds,
    }


class AssignmentOut(serializers.ModelSerializer):
    assignment_id = serializers.IntegerField(source="pk")

    class Meta:
        model = Assignment
        fields = [
            "assignment_id",
            "job_id",
            "item_id",
            "status",
            "leased_at",
            "expires_at",
            "finished_at",
        ]


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorOut(serializers.Serializer):
    error = ErrorDetail()
