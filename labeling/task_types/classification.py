"""Single-label classification of texts and of images."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.conf import settings

from labeling.task_types.base import AnswerProblem, ParsedAnswer, SourceProblem, register_task_type


def _check_text(line: dict[str, Any]) -> None:
    source = line.get("source")
    if not isinstance(source, str):
        raise SourceProblem('a text item needs "source" with the text as a string')
    if not source.strip():
        raise SourceProblem('"source" is empty')
    if len(source) > settings.QUORUM_TEXT_MAX_CHARS:
        raise SourceProblem(
            f'"source" has {len(source)} characters; the limit is {settings.QUORUM_TEXT_MAX_CHARS}'
        )


def _check_image_ref(line: dict[str, Any]) -> None:
    ref = line.get("source-ref")
    if not isinstance(ref, str) or not ref.strip():
        raise SourceProblem(
            'an image item needs "source-ref" with a path, an s3:// URI or an http(s) URL'
        )
    parsed = urlparse(ref)
    if parsed.scheme in ("http", "https"):
        if not parsed.netloc:
            raise SourceProblem(f'"source-ref" {ref!r} is not a complete URL')
        return
    if parsed.scheme == "s3":  # the storage (docs/storage.md): an object, or MEDIA_ROOT/bucket/key
        if not parsed.netloc or not parsed.path.strip("/") or ".." in parsed.path.split("/"):
            raise SourceProblem(f'"source-ref" {ref!r} is not a complete s3://bucket/key URI')
        return
    if parsed.scheme:
        raise SourceProblem(
            f'"source-ref" scheme {parsed.scheme!r} is not supported; use s3://, http(s) or a '
            "path relative to the media folder"
        )
    if ref.startswith("/") or ".." in ref.split("/"):
        raise SourceProblem(f'"source-ref" {ref!r} must be a path inside the media folder')


@dataclass(frozen=True)
class SingleLabelClassification:
    key: str
    title: str
    media: str
    manifest_type: str
    template_name: str
    consolidation: str = "majority"
    answer_is_one_class: bool = True

    def check_source(self, line: dict[str, Any]) -> None:
        if self.media == "text":
            _check_text(line)
        else:
            _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"label": "cat"}`` or the element form ``{"<name>": {"label": "cat"}}``."""
        if isinstance(answer, dict) and len(answer) == 1:
            (only,) = answer.values()
            if isinstance(only, dict):  # the element form, whatever the element's name
                answer = only
        if not isinstance(answer, dict) or not isinstance(answer.get("label"), str):
            raise AnswerProblem('the answer must be {"label": "<one of the job\'s labels>"}')
        label = answer["label"]
        if label not in labels:
            raise AnswerProblem(f"{label!r} is not one of the job's labels: {', '.join(labels)}")
        return ParsedAnswer(answer={"label": label}, label=label)


TEXT_CLASSIFICATION = register_task_type(
    SingleLabelClassification(
        key="text-classification",
        title="Text classification (single label)",
        media="text",
        manifest_type="groundtruth/text-classification",
        template_name="tasks/text_classification.html",
    )
)
IMAGE_CLASSIFICATION = register_task_type(
    SingleLabelClassification(
        key="image-classification",
        title="Image classification (single label)",
        media="image",
        manifest_type="groundtruth/image-classification",
        template_name="tasks/image_classification.html",
    )
)
