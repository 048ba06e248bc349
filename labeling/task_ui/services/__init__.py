"""Writes of task UIs: custom templates and their versions."""
