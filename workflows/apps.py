"""App configuration of workflows: subscribes to the labeling app's events."""

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from labeling.events import item_consolidated  # noqa: PLC0415 - apps load first

        # Tasks and review task types register themselves by name when imported.
        from workflows import receivers, task_types, tasks  # noqa: F401, PLC0415
        from workflows.monitoring import tasks as monitoring_tasks  # noqa: F401, PLC0415

        item_consolidated.connect(receivers.complete_loop_of_item, dispatch_uid="workflows-loop")
