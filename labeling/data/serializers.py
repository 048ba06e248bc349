"""Serializers of data in and out: an import run as the API shows it, an export's query."""

from rest_framework import serializers

from labeling.data.formats import export_format_names
from labeling.models import ImportRun


class ImportOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "job",
            "kind",
            "status",
            "original_name",
            "total_bytes",
            "lines_read",
            "items_created",
            "error_count",
            "errors",
            "message",
            "attempts",
            "progress",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, run) -> dict:
        return self.context.get("progress", {})


class ExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["manifest", "csv", *export_format_names(), "conll2003", "spacy"],
        default="manifest",
    )
    labeled = serializers.ChoiceField(choices=["all", "only"], default="all")
