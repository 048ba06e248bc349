"""Models of pipelines (issue 16): chains and taxonomies, streaming jobs, annotation hooks.

One section per part; each part keeps its state in its own tables, linked to jobs and items,
so the core's ``Job`` and ``Item`` stay as they are.
"""
