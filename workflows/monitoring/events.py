"""Signals of model-quality monitoring that later apps subscribe to (active_learning)."""

from django.dispatch import Signal

# Sent after commit when a flow asks for retraining: ``flow_id``, ``job_id`` (the flow's
# dataset job), ``reason`` ("alert" or "labels"), ``since`` (an aware datetime or None).
retrain_requested = Signal()

# Sent by the monitoring sweep (``workflows.monitoring_sweep``) after the flows: the apps that
# watch other streams (active_learning: a job's automated labels over their audits) evaluate
# them here; a receiver returns how many it evaluated.
monitoring_swept = Signal()
