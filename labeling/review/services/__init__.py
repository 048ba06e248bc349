"""Writes of review and comments."""
