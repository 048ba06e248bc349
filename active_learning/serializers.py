"""Input and output serializers of the active-learning API. They validate and shape only."""

from rest_framework import serializers

from active_learning.models import Audit, AutoLabeling, LearnerKind, ModelArtifact, TrainingRound
from active_learning.strategies import strategy_choices


class AutoLabelingIn(serializers.Serializer):
    target_accuracy = serializers.FloatField(min_value=0.5, max_value=0.999, required=False)
    alpha = serializers.FloatField(min_value=0.001, max_value=0.5, required=False)
    human_budget = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    strategy = serializers.ChoiceField(choices=strategy_choices(), required=False)
    learner = serializers.ChoiceField(choices=LearnerKind.choices, required=False)
    validation_size = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    validation_refill = serializers.BooleanField(required=False)
    round_every = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    round_growth = serializers.FloatField(min_value=0.0, max_value=10.0, required=False)
    min_training_labels = serializers.IntegerField(min_value=2, max_value=1_000_000, required=False)
    preannotate = serializers.BooleanField(required=False)
    target_mean_iou = serializers.FloatField(
        min_value=0.05,
        max_value=0.999,
        required=False,
        allow_null=True,
        help_text="box and mask jobs: the mean IoU auto-labels must reach (null: 0.6 boxes, "
        "0.7 masks)",
    )


class BudgetOut(serializers.Serializer):
    budget = serializers.IntegerField(help_text="items humans may label")
    labeled = serializers.IntegerField(help_text="items with a human label")
    in_progress = serializers.IntegerField(help_text="open items humans hold or partly answered")
    used = serializers.IntegerField()
    left = serializers.IntegerField()
    spent = serializers.BooleanField(help_text="humans get no new items of the job")
    spent_at = serializers.DateTimeField(
        allow_null=True, help_text="when the last round was queued"
    )
    unlabeled = serializers.IntegerField(help_text="items with no label yet")
    message = serializers.CharField()


class AutoLabelingOut(serializers.ModelSerializer):
    auto_labeling_allowed = serializers.BooleanField(source="may_auto_label")
    counts = serializers.DictField(child=serializers.IntegerField(), default=dict)
    suggestions = serializers.DictField(default=dict)
    budget = BudgetOut(allow_null=True, default=None)

    class Meta:
        model = AutoLabeling
        fields = [
            "job",
            "enabled",
            "auto_labeling_allowed",
            "target_accuracy",
            "alpha",
            "human_budget",
            "strategy",
            "learner",
            "validation_size",
            "validation_refill",
            "round_every",
            "round_growth",
            "min_training_labels",
            "preannotate",
            "target_mean_iou",
            "stopped_reason",
            "stopped_at",
            "labels_at_last_round",
            "counts",
            "suggestions",
            "budget",
            "budget_spent_at",
            "created_at",
            "updated_at",
        ]


class RoundOut(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="artifact.version", default=None)
    share_auto_labeled = serializers.FloatField(allow_null=True)

    class Meta:
        model = TrainingRound
        fields = [
            "id",
            "number",
            "status",
            "trigger",
            "message",
            "attempts",
            "human_labels",
            "model_version",
            "threshold",
            "validation_size",
            "validation_accuracy",
            "lower_bound",
            "auto_labeled",
            "reprioritized",
            "items_total",
            "items_human",
            "items_auto",
            "share_auto_labeled",
            "queued_at",
            "started_at",
            "finished_at",
        ]


class ModelOut(serializers.ModelSerializer):
    kind = serializers.CharField(
        help_text="the learner: text-tfidf, text-embedding, image-cnn, image-detector or "
        "image-segmenter"
    )

    class Meta:
        model = ModelArtifact
        fields = [
            "id",
            "version",
            "kind",
            "path",
            "classes",
            "metrics",
            "threshold",
            "training_size",
            "validation_size",
            "training_seconds",
            "created_at",
        ]


class AuditIn(serializers.Serializer):
    sample_size = serializers.IntegerField(min_value=1, max_value=5000)


class AuditOut(serializers.ModelSerializer):
    measured_accuracy = serializers.FloatField(allow_null=True)
    measured_mean_iou = serializers.FloatField(
        allow_null=True, help_text="box and mask jobs: the audited items' mean IoU"
    )

    class Meta:
        model = Audit
        fields = [
            "id",
            "status",
            "sample_size",
            "promised_accuracy",
            "answered",
            "agreed",
            "measured_accuracy",
            "metric",
            "measured_mean_iou",
            "iou_lower_bound",
            "message",
            "created_at",
            "finished_at",
        ]
