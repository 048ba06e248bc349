"""Learners (text and image models) and how a job's items become their inputs."""

from active_learning.learners.base import Heartbeat, Learner, no_heartbeat

__all__ = ["Heartbeat", "Learner", "no_heartbeat"]
