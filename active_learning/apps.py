"""App configuration of active_learning: it listens to the labeling app's domain events."""

from django.apps import AppConfig


class ActiveLearningConfig(AppConfig):
    name = "active_learning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: they load models, which the app registry must
        # have finished loading first.
        from active_learning import receivers
        from active_learning.services.budget import BUDGET_PROBE, human_budget_gate
        from labeling.events import item_consolidated
        from labeling.services.claim_gates import register_claim_gate
        from labeling.task_ui.rendering import register_task_context
        from workflows.monitoring.events import monitoring_swept, retrain_requested

        item_consolidated.connect(receivers.on_item_consolidated, dispatch_uid="al-consolidated")
        register_task_context(receivers.task_suggestion)
        register_claim_gate(human_budget_gate, probe=BUDGET_PROBE)
        retrain_requested.connect(receivers.on_retrain_requested, dispatch_uid="al-retrain")
        monitoring_swept.connect(receivers.on_monitoring_swept, dispatch_uid="al-monitoring")
