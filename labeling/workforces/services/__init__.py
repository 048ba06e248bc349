"""Writes of the workforces, one module per entity."""
