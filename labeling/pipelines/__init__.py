"""Labels in stages: chained jobs and taxonomies, streaming jobs, pre- and post-annotation hooks.

The core never imports this package: it listens to the core's events (``labeling/events.py``)
and writes through the core's services. See docs/pipelines.md.
"""
