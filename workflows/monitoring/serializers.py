"""Input and output shapes of the monitoring API."""

from rest_framework import serializers

from workflows.monitoring.stats import WINDOWS


class FiguresQuery(serializers.Serializer):
    window = serializers.ChoiceField(choices=list(WINDOWS), default="hour")
    model_version = serializers.CharField(max_length=100, required=False, allow_blank=True)
    count = serializers.IntegerField(min_value=1, max_value=500, required=False, default=0)


class GroundTruthQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=["jsonl", "csv"], default="jsonl")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class BaselineIn(serializers.Serializer):
    model_version = serializers.CharField(max_length=100, allow_blank=True, default="")
    accuracy = serializers.FloatField(required=False, allow_null=True, default=None)
    metrics = serializers.JSONField(required=False, allow_null=True, default=None)


class BaselineOut(serializers.Serializer):
    model_version = serializers.CharField()
    accuracy = serializers.FloatField()
    source = serializers.CharField()
    metrics = serializers.JSONField()
    created_at = serializers.DateTimeField()


class MonitorConfigIO(serializers.Serializer):
    tolerance = serializers.FloatField(required=False)
    design_drop = serializers.FloatField(required=False)
    false_alarm_labels = serializers.IntegerField(required=False)
    calibration_tolerance = serializers.FloatField(required=False)
    boosted_sample_percent = serializers.FloatField(required=False, allow_null=True)
    retrain_on_alert = serializers.BooleanField(required=False)
    retrain_after_labels = serializers.IntegerField(required=False, allow_null=True)
    ground_truth_uri = serializers.CharField(required=False, allow_blank=True, max_length=500)
    ground_truth_every_seconds = serializers.IntegerField(required=False, allow_null=True)
    # The flow's own audit share, changed here too (kept when a raised share falls back).
    sample_percent = serializers.FloatField(
        source="flow.sample_percent", required=False, allow_null=True
    )
    sample_boosted = serializers.BooleanField(read_only=True)
    retrained_at = serializers.DateTimeField(read_only=True)
    ground_truth_exported_at = serializers.DateTimeField(read_only=True)
    evaluated_at = serializers.DateTimeField(read_only=True)
