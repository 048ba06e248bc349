"""App configuration of the labeling domain."""

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Object ids in addresses (labeling/converters.py), for every app's URLs.
        from django.urls import register_converter  # noqa: PLC0415

        from labeling.converters import ObjectId  # noqa: PLC0415

        register_converter(ObjectId, "id")

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
        # issue 20: the data manager's search text of imported items, after the commit
        from labeling.events import items_stored  # noqa: PLC0415

        items_stored.connect(receivers.item_text_after_import, dispatch_uid="console-item-text")
        # issue 16: streaming jobs' results feed (written in the labeling's transaction)
        from django.db.models.signals import post_save  # noqa: PLC0415

        from labeling.models import ItemEvent  # noqa: PLC0415
        from labeling.pipelines import receivers as pipeline_receivers  # noqa: PLC0415
        from labeling.pipelines import tasks as pipeline_tasks  # noqa: F401, PLC0415

        post_save.connect(
            pipeline_receivers.stream_result_on_item_event,
            sender=ItemEvent,
            dispatch_uid="pipelines-stream-results",
        )

        # issue 16: pipelines' pre- and post-annotation hooks
        from labeling.events import (  # noqa: PLC0415
            item_answers_complete,
            items_stored,
        )
        from labeling.pipelines import selectors as pipeline_selectors  # noqa: PLC0415
        from labeling.services.consolidation import (  # noqa: PLC0415
            register_consolidation_takeover,
        )
        from labeling.task_ui.rendering import register_task_context  # noqa: PLC0415

        items_stored.connect(pipeline_receivers.hooks_hold_imported, dispatch_uid="hooks-hold")
        import_finished.connect(pipeline_receivers.hooks_after_import, dispatch_uid="hooks-pre")
        item_answers_complete.connect(
            pipeline_receivers.hooks_after_answers_complete, dispatch_uid="hooks-consolidate"
        )
        register_consolidation_takeover(pipeline_receivers.job_has_consolidation_hook)
        register_task_context(pipeline_selectors.hook_task_context)

        # issue 16 (p16-chain): chained jobs follow their parents' events
        from labeling.pipelines.receivers import chain_receivers_connect  # noqa: PLC0415

        chain_receivers_connect()
