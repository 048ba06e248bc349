"""Signals of model-quality monitoring that later apps subscribe to (active_learning)."""

from django.dispatch import Signal

# Sent after commit when a flow asks for retraining: ``flow_id``, ``job_id`` (the flow's
# dataset job), ``reason`` ("alert" or "labels"), ``since`` (an aware datetime or None).
retrain_requested = Signal()
