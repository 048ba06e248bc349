"""Writes of pipelines, one module per part: chains, taxonomies, streaming, hooks."""
