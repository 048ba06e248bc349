"""Hierarchical labels (issue 16 point 2): a taxonomy defined once becomes a chain of jobs.

A definition is a tree of nodes ``{"labels": [...], "children": {"<label>": node, ...}}``:
the root node is the level-1 job over the input; every label with a child node gets a job of
its own, linked to its parent's job with the filter "label = that label". Every job of a
level writes the level's attribute (``attributes[k]``, or ``<name>-level-<k>``), so an
item's merged line holds one key per level. All jobs, counter shards and links are created
in one transaction, in bulk (a taxonomy of hundreds of leaves is a few statements).
"""

import re
from typing import Any

from django.db import IntegrityError, transaction

from labeling.errors import Conflict, ValidationFailed
from labeling.models import ChainLink, Job, JobCounter, Taxonomy, Team, User
from labeling.services.jobs import job_create
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class

MAX_JOBS = 2_000
MAX_DEPTH = 8
MAX_LABELS = 200
ATTRIBUTE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,126}$")


def _problem(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": "definition", "at": path or "root"})


def _walk(node: Any, path: str, depth: int, nodes: list[tuple[str, int, list[str], str]]) -> None:
    """Check the tree and flatten it: (path, depth, labels, parent path), parents first."""
    if depth > MAX_DEPTH:
        raise _problem(f"a taxonomy has at most {MAX_DEPTH} levels", path)
    if not isinstance(node, dict) or not isinstance(node.get("labels"), list):
        raise _problem('every node is {"labels": [...], "children": {...}}', path)
    labels = node["labels"]
    if not labels or not all(isinstance(x, str) and x.strip() for x in labels):
        raise _problem("a node's labels are a non-empty list of names", path)
    labels = [label.strip() for label in labels]
    if len(set(labels)) != len(labels):
        raise _problem("a node's labels repeat", path)
    if len(labels) > MAX_LABELS or any(len(x) > 200 for x in labels):
        raise _problem(f"at most {MAX_LABELS} labels of at most 200 characters", path)
    children = node.get("children") or {}
    if not isinstance(children, dict):
        raise _problem('"children" maps a label to its node', path)
    unknown = sorted(set(children) - set(labels))
    if unknown:
        raise _problem(f"children under labels the node does not have: {unknown}", path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    nodes.append((path, depth, labels, parent if depth > 1 else ""))
    if len(nodes) > MAX_JOBS:
        raise _problem(f"a taxonomy makes at most {MAX_JOBS} jobs", path)
    for label, child in children.items():
        _walk(child, f"{path}/{label}" if path else label, depth + 1, nodes)


def taxonomy_create(
    *,
    created_by: User,
    name: str,
    team: Team,
    task_type: str,
    definition: dict[str, Any],
    attributes: list[str] | None = None,
    workers_per_item: int = 1,
    short_instructions: str = "",
) -> Taxonomy:
    """Build the chain of jobs of ``definition`` (all drafts; starting the root starts them)."""
    try:
        kind = get_task_type(task_type)
    except KeyError as exc:
        raise ValidationFailed(str(exc.args[0]), details={"field": "task_type"}) from None
    if not answers_one_class(kind):
        raise ValidationFailed(
            f"a taxonomy's jobs choose one class; {task_type!r} does not",
            details={"field": "task_type"},
        )
    nodes: list[tuple[str, int, list[str], str]] = []
    _walk(definition, "", 1, nodes)
    depth = max(level for _, level, _, _ in nodes)
    names = _level_attributes(name, attributes, depth)
    with transaction.atomic():
        root = job_create(
            created_by=created_by,
            name=name,
            task_type=task_type,
            labels=nodes[0][2],
            team=team,
            workers_per_item=workers_per_item,
            short_instructions=short_instructions,
            label_attribute_name=names[0],
        )
        taxonomy = Taxonomy.objects.create(
            name=root.name, definition=definition, root_job=root, created_by=created_by
        )
        jobs = [
            _child_job(root, path, labels, names[level - 1]) for path, level, labels, _ in nodes[1:]
        ]
        try:
            with transaction.atomic():
                Job.objects.bulk_create(jobs)
        except IntegrityError:
            raise Conflict(
                f"a job named like one of this taxonomy's ({root.name} / …) exists already",
                code="duplicate_name",
            ) from None
        by_path = {"": root, **{path: job for (path, *_), job in zip(nodes[1:], jobs, strict=True)}}
        JobCounter.objects.bulk_create(
            JobCounter(job_id=job.pk, shard=shard)
            for job in jobs
            for shard in range(JobCounter.SHARDS)
        )
        ChainLink.objects.bulk_create(
            ChainLink(
                parent=by_path[parent],
                child=by_path[path],
                labels=[path.rsplit("/", 1)[-1]],
                taxonomy=taxonomy,
                created_by=created_by,
            )
            for path, _, _, parent in nodes[1:]
        )
    return taxonomy


def _level_attributes(name: str, attributes: list[str] | None, depth: int) -> list[str]:
    if attributes is None:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:100] or "taxonomy"
        return [f"{slug}-level-{level}" for level in range(1, depth + 1)]
    if not isinstance(attributes, list) or len(attributes) != depth:
        raise ValidationFailed(
            f"attributes: one label attribute name per level ({depth})",
            details={"field": "attributes"},
        )
    for attribute in attributes:
        if not isinstance(attribute, str) or not ATTRIBUTE_RE.match(attribute):
            raise ValidationFailed(
                f"attributes: {attribute!r} is not a label attribute name (letters, digits, "
                "- and _)",
                details={"field": "attributes"},
            )
        if attribute.endswith(("-metadata", "-ref")) or attribute in ("source", "source-ref"):
            raise ValidationFailed(
                f"attributes: {attribute!r} is reserved", details={"field": "attributes"}
            )
    if len(set(attributes)) != depth:
        raise ValidationFailed("attributes repeat", details={"field": "attributes"})
    return attributes


def _child_job(root: Job, path: str, labels: list[str], attribute: str) -> Job:
    return Job(
        name=f"{root.name} / {path.replace('/', ' / ')}"[:200],
        label_attribute_name=attribute,
        task_type=root.task_type,
        labels=labels,
        short_instructions=root.short_instructions,
        team_id=root.team_id,
        workers_per_item=root.workers_per_item,
        task_time_limit_seconds=root.task_time_limit_seconds,
        availability_lifetime_seconds=root.availability_lifetime_seconds,
        max_concurrent_tasks_per_worker=root.max_concurrent_tasks_per_worker,
        data_may_leave_private=root.data_may_leave_private,
        created_by_id=root.created_by_id,
        # Items keep arriving from the parent: the job completes after its parent does.
        open_ended=True,
    )
