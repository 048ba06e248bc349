"""App configuration of the control plane: subscribes to the labeling app's events."""

from django.apps import AppConfig


class ControlPlaneConfig(AppConfig):
    name = "control_plane"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Tasks register themselves by name when imported.
        from control_plane import receivers, tasks  # noqa: F401, PLC0415
        from labeling.events import import_finished  # noqa: PLC0415 - apps load first

        import_finished.connect(receivers.start_job_after_import, dispatch_uid="control-plane")
