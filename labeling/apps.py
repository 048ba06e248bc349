"""App configuration of the labeling domain."""

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process, so services can enqueue them by name.
        from labeling import tasks  # noqa: F401, PLC0415

        # issue 14: the console's bulk actions and thumbnails
        from labeling.console import receivers  # noqa: PLC0415
        from labeling.console import tasks as console_tasks  # noqa: F401, PLC0415
        from labeling.data import tasks as data_tasks  # noqa: F401, PLC0415
        from labeling.data.services.outputs import output_after_job_completed  # noqa: PLC0415
        from labeling.events import import_finished, job_completed  # noqa: PLC0415
        from labeling.quality import tasks as quality_tasks  # noqa: F401, PLC0415

        job_completed.connect(output_after_job_completed, dispatch_uid="labeling.job_output")
        # issue 20: kept PostgreSQL connections are checked without a SELECT 1 per request
        from django.core.signals import request_started  # noqa: PLC0415

        from labeling.connections import kept_connections_check  # noqa: PLC0415

        request_started.connect(kept_connections_check, dispatch_uid="labeling.connections")
        import_finished.connect(
            receivers.thumbnails_after_import, dispatch_uid="console-thumbnails"
        )
