"""Shapes of the console API: data-manager rows and pages, bulk actions, live snapshots."""

from rest_framework import serializers

from labeling.models import BulkAction, BulkActionKind


class ItemPreviewOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["text", "media"])
    text = serializers.CharField()


class ItemRowOut(serializers.Serializer):
    id = serializers.IntegerField()
    preview = ItemPreviewOut()
    thumbnail_url = serializers.CharField(allow_null=True)
    url = serializers.CharField(help_text="the item's page in the console")
    status = serializers.CharField()
    status_reason = serializers.CharField(
        allow_blank=True, help_text="why an expired item expired (streaming jobs)"
    )
    answers = serializers.IntegerField()
    answers_needed = serializers.IntegerField()
    priority = serializers.IntegerField()
    label = serializers.CharField(allow_null=True)
    labels = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text=(
            "multi-label, drawing, span and video jobs: the labels the item's value contains, "
            "in code-point order (the first is what sort=label sorts by); null on other jobs "
            "and on unlabeled items"
        ),
    )
    confidence = serializers.FloatField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=["human", "machine"], allow_null=True)
    gold = serializers.BooleanField()
    agreement = serializers.FloatField(
        allow_null=True,
        help_text=(
            "one-class jobs: the share of the item's answers that give its label; drawing and "
            "span jobs: the mean pairwise similarity of its answers stored at consolidation "
            "(the confidence for labels consolidated before it was stored); other jobs: the "
            "confidence; null on unlabeled items"
        ),
    )
    reviewed = serializers.BooleanField()
    review_requested = serializers.BooleanField()
    last_activity = serializers.DateTimeField(allow_null=True)


class ItemPageOut(serializers.Serializer):
    results = ItemRowOut(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="pass as ?cursor= for the next page; null on the last page"
    )
    sort = serializers.CharField()


class ItemCountOut(serializers.Serializer):
    count = serializers.IntegerField()


class BulkActionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BulkActionKind.choices)
    selection = serializers.JSONField(
        help_text='{"ids": [item ids]} (at most 1,000) or {"filters": {the list\'s filters}} '
        "for all the items that match"
    )
    params = serializers.JSONField(
        required=False,
        default=dict,
        help_text='{"priority": n} for priority, {"format": "coco"} for export',
    )


class BulkActionOut(serializers.ModelSerializer):
    fraction = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = BulkAction
        fields = [
            "id",
            "job",
            "kind",
            "selection",
            "params",
            "status",
            "total",
            "done",
            "skipped",
            "fraction",
            "message",
            "download_url",
            "created_at",
            "finished_at",
        ]

    def get_fraction(self, action: BulkAction) -> float:
        return round(action.done / action.total, 4) if action.total else 1.0

    def get_download_url(self, action: BulkAction) -> str | None:
        if not action.result_path:
            return None
        return f"/api/v1/jobs/{action.job_id}/bulk-actions/{action.pk}/download"


class RecentAnswerOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    label = serializers.CharField()
    worker = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class LiveSnapshotOut(serializers.Serializer):
    job_id = serializers.IntegerField()
    status = serializers.CharField()
    items_total = serializers.IntegerField()
    items_labeled = serializers.IntegerField()
    items_remaining = serializers.IntegerField()
    answers_total = serializers.IntegerField()
    answers_needed = serializers.IntegerField()
    leases_active = serializers.IntegerField()
    quality_estimated_at = serializers.CharField(allow_null=True)
    recent_answers = RecentAnswerOut(many=True)
    computed_at = serializers.FloatField(help_text="when it was computed (Unix seconds)")
