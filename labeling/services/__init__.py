"""Writes of the labeling domain, one module per entity."""
