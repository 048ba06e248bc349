"""Models of task UIs: custom templates, their versions, and the version a job renders."""

from django.db import models

from labeling.models.core import Job, User


class CustomTemplate(models.Model):
    """A manager's own task template (Liquid-flavoured HTML); every save is a new version."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    latest_version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class CustomTemplateVersion(models.Model):
    """One saved text of a custom template, with the sample item its preview renders."""

    template = models.ForeignKey(CustomTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    source = models.TextField()
    sample = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique"),
        ]
        ordering = ["template", "-number"]


class JobTemplate(models.Model):
    """The custom template version a job's task UI renders instead of its task type's own."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="custom_template")
    version = models.ForeignKey(CustomTemplateVersion, on_delete=models.PROTECT, related_name="+")
    set_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)
