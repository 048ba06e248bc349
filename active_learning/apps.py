"""App configuration of active_learning."""

from django.apps import AppConfig


class ActiveLearningConfig(AppConfig):
    name = "active_learning"
    default_auto_field = "django.db.models.BigAutoField"
