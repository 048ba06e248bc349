"""Verification and adjustment of an earlier job's drawings, for every drawing type.

Both are built from the table of drawing kinds in ``priors.py`` (how the earlier label is
found on the item's line, read, shown and compared), not one module per type:

- ``<base>-verification``: the task shows the earlier label in its own element, read-only,
  and the worker chooses one of the job's labels ("Correct" / "Incorrect", …) with an optional
  feedback. Answer, majority consolidation and the ``groundtruth/label-verification`` output
  (``class-name``, ``worker-feedback``) are those of ``image-label-verification``.
- ``<base>-adjustment``: the task opens the earlier label in the base type's element (its
  ``initial-value``) to correct it. Answer, consolidation and output are the base type's; the
  metadata adds ``"adjustment-status": "adjusted" | "unadjusted"`` (adjusted when at least
  half of the workers changed the earlier label), as the managed service writes it.
"""

from dataclasses import dataclass, field
from typing import Any

from labeling.task_types.base import Consolidated, ParsedAnswer, SourceProblem, register_task_type
from labeling.task_types.classification import _check_image_ref
from labeling.task_types.image_classification_multi import LabelVerification
from labeling.task_types.image_segmentation import IMAGE_SEMANTIC_SEGMENTATION
from labeling.task_types.image_shapes import IMAGE_KEYPOINT, IMAGE_POLYGON
from labeling.task_types.priors import (
    KEYPOINTS,
    MASK,
    POLYGONS,
    VIDEO_DETECTION,
    VIDEO_TRACKING,
    DrawingKind,
    Prior,
    mask_src,
)
from labeling.task_types.video import (
    VIDEO_OBJECT_DETECTION,
    VIDEO_OBJECT_TRACKING,
    check_video_source,
    prepare_video_source,
)

ADJUSTED = "adjusted"
UNADJUSTED = "unadjusted"
STATUS_KEY = "adjustment_status"


def _initial_value(kind: DrawingKind, prior: Prior) -> Any:
    """The element's ``initial-value``: the earlier objects, or the earlier map inline."""
    if kind is MASK:
        src = mask_src(prior.initial)
        return {"src": src, "labelMappings": prior.initial["labelMappings"]} if src else None
    return prior.initial


def _check_media(kind: DrawingKind, line: dict[str, Any]) -> None:
    if kind.media == "video":
        check_video_source(line)
    else:
        _check_image_ref(line)


def _check_prior(kind: DrawingKind, line: dict[str, Any], what: str) -> None:
    """Refuse a line without the earlier label (or with one that can't be used), by name."""
    prior = kind.find(line)
    if prior is None:
        raise SourceProblem(f"{what} item needs {kind.needs()}")
    problem = kind.problem(prior)
    if problem:
        raise SourceProblem(f"{what} item needs {kind.needs()}; {problem}")


@dataclass(frozen=True)
class DrawingVerification(LabelVerification):
    """Approve or reject an earlier job's drawing (shown in its element) with feedback."""

    kind: DrawingKind = field(default=POLYGONS)
    template_name: str = "tasks/drawing_verification.html"

    @property
    def earlier_manifest_type(self) -> str:
        """The manifest ``type`` of the earlier label an item must carry (for chains)."""
        return self.kind.manifest_type

    def check_source(self, line: dict[str, Any]) -> None:
        _check_media(self.kind, line)
        _check_prior(self.kind, line, "a verification")

    def prepare_source(self, line: dict[str, Any]) -> dict[str, Any]:
        return prepare_video_source(line) if self.kind.media == "video" else line

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        prior = self.kind.find(line)
        if prior is None:
            return {"viewer": None}
        return {
            "viewer": {
                "element": self.kind.element,
                "labels": prior.labels,
                "initial": _initial_value(self.kind, prior),
                "noun": self.kind.noun,
                "attribute": prior.attribute,
            },
            "frame_count": len(line.get("frames") or []),
        }


@dataclass(frozen=True)
class DrawingAdjustment:
    """A base drawing type whose items start from an earlier job's label.

    Everything not defined here (media, template, manifest type, export formats and their
    hooks, ``prepare_source`` of video, …) is the base type's.
    """

    key: str
    title: str
    base: Any
    kind: DrawingKind

    def __getattr__(self, name: str) -> Any:
        if name in ("base", "kind") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def earlier_manifest_type(self) -> str:
        """The manifest ``type`` of the earlier label an item must carry (for chains)."""
        return self.kind.manifest_type

    def check_source(self, line: dict[str, Any]) -> None:
        self.base.check_source(line)
        _check_prior(self.kind, line, "an adjustment")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        return self.base.parse_answer(answer, labels)

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        own = self.base.template_context(line) if hasattr(self.base, "template_context") else {}
        prior = self.kind.find(line)
        initial = _initial_value(self.kind, prior) if prior is not None else None
        return {**own, "initial_value": initial}

    def adjustment_status(
        self, answers: list[dict[str, Any]], labels: list[str], item_data: dict[str, Any]
    ) -> str:
        """ "adjusted" when at least half of the answers changed the earlier label."""
        prior = self.kind.find(item_data)
        if prior is None:
            return ADJUSTED
        changed = sum(not self.kind.answer_unchanged(a, prior, labels) for a in answers)
        return ADJUSTED if changed * 2 >= len(answers) and changed else UNADJUSTED

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        extra = {} if weights is None else {"weights": weights}
        result = self.base.consolidate_answers(answers, labels, item_data=item_data, **extra)
        if item_data is None:
            return result
        status = self.adjustment_status(answers, labels, item_data)
        return Consolidated(
            value={**result.value, STATUS_KEY: status},
            confidence=result.confidence,
            method=result.method,
            label=result.label,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        own = {k: v for k, v in value.items() if k != STATUS_KEY}
        label_value, metadata = self.base.manifest_label(own, labels)
        if STATUS_KEY in value:
            metadata = {**metadata, "adjustment-status": value[STATUS_KEY]}
        return label_value, metadata


_BASES = (
    (IMAGE_SEMANTIC_SEGMENTATION, MASK, "Image: semantic segmentation"),
    (IMAGE_POLYGON, POLYGONS, "Image: polygons"),
    (IMAGE_KEYPOINT, KEYPOINTS, "Image: keypoints"),
    (VIDEO_OBJECT_DETECTION, VIDEO_DETECTION, "Video: object detection per frame"),
    (VIDEO_OBJECT_TRACKING, VIDEO_TRACKING, "Video: object tracking"),
)
VERIFICATION_TYPES = {
    base.key: register_task_type(
        DrawingVerification(
            key=f"{base.key}-verification",
            title=f"{title}: verify earlier labels",
            media=base.media,
            kind=kind,
        )
    )
    for base, kind, title in _BASES
}
ADJUSTMENT_TYPES = {
    base.key: register_task_type(
        DrawingAdjustment(
            key=f"{base.key}-adjustment",
            title=f"{title}: adjust earlier labels",
            base=base,
            kind=kind,
        )
    )
    for base, kind, title in _BASES
}
