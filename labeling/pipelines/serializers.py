"""Shapes of the pipelines API (docs/pipelines.md)."""

from rest_framework import serializers


# -- chains (p16-chain) -----------------------------------------------------------------------
class ChainLinkIn(serializers.Serializer):
    parent_id = serializers.IntegerField(help_text="the job whose output this job takes")
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
    team_id = serializers.IntegerField()
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
