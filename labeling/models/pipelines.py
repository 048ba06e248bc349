"""Models of pipelines (issue 16): chains and taxonomies, streaming jobs, annotation hooks.

One section per part; each part keeps its state in its own tables, linked to jobs and items,
so the core's ``Job`` and ``Item`` stay as they are.
"""

from django.db import models

# ---------------------------------------------------------------------------------------------
# Chains (issue 16 points 1 and 2; p16-chain): parent job -> child job edges, the items passed
# along each edge, and the taxonomies that build a tree of such edges.
# ---------------------------------------------------------------------------------------------


class Taxonomy(models.Model):
    """A manager's hierarchy of labels, built once into a chain of jobs rooted at ``root_job``."""

    name = models.CharField(max_length=200)
    definition = models.JSONField()
    root_job = models.OneToOneField(
        "labeling.Job", on_delete=models.CASCADE, related_name="taxonomy"
    )
    created_by = models.ForeignKey(
        "labeling.User", on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)


class ChainLink(models.Model):
    """An edge parent job -> child job: the parent's consolidated items that meet the filter
    become items of the child, carrying the parent's manifest line. A child has one parent."""

    parent = models.ForeignKey("labeling.Job", on_delete=models.CASCADE, related_name="+")
    child = models.OneToOneField(
        "labeling.Job", on_delete=models.CASCADE, related_name="chain_parent_link"
    )
    # The filter: empty list / null / False mean "no condition"; all given conditions must hold.
    labels = models.JSONField(default=list, blank=True)
    confidence_below = models.FloatField(null=True, blank=True)
    machine_labeled_only = models.BooleanField(default=False)
    # The child's label attribute is the parent's: it continues the parent (labels kept).
    continues = models.BooleanField(default=False)
    taxonomy = models.ForeignKey(
        Taxonomy, on_delete=models.CASCADE, null=True, blank=True, related_name="links"
    )
    created_by = models.ForeignKey(
        "labeling.User", on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["parent"], name="chainlink_parent")]


class PassageStatus(models.TextChoices):
    PASSED = "passed", "Passed to the child"
    FILTERED = "filtered", "Left out by the filter"
    WITHDRAWN = "withdrawn", "Withdrawn from the child"


class ChainPassage(models.Model):
    """What one link did with one parent item: passed it (to ``child_item``), left it out, or
    withdrew it after a relabel. At most one row per link and parent item (idempotence)."""

    link = models.ForeignKey(ChainLink, on_delete=models.CASCADE, related_name="passages")
    parent_item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="+")
    child_item = models.ForeignKey(
        "labeling.Item", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=PassageStatus.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    # When the parent's label was consolidated (or revised) and when the child got the item.
    labeled_at = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "parent_item"], name="chainpassage_once"),
        ]
        indexes = [
            models.Index(fields=["link", "status"], name="chainpassage_link_status"),
            models.Index(fields=["child_item"], name="chainpassage_child_item"),
        ]
