"""Writes of the workflows app, one module per entity."""
