"""App configuration of active_learning: it listens to the labeling app's domain events."""

from django.apps import AppConfig

from labeling.events import item_consolidated


class ActiveLearningConfig(AppConfig):
    name = "active_learning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from active_learning import receivers  # noqa: F401 - connects the signal receivers

        item_consolidated.connect(receivers.on_item_consolidated, dispatch_uid="al-consolidated")
