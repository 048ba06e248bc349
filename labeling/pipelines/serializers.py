"""Shapes of the pipelines API (issue 16): streaming settings, items posted, the results feed."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
