"""Task types: each says what an item holds, what an answer is, and how both are output."""

from labeling.task_types.base import TaskType, get_task_type, register_task_type, task_type_choices
from labeling.task_types.classification import IMAGE_CLASSIFICATION, TEXT_CLASSIFICATION
from labeling.task_types.custom import CUSTOM
from labeling.task_types.text_entities import (
    TEXT_ENTITY_RECOGNITION,
    TEXT_ENTITY_RECOGNITION_OVERLAPPING,
)
from labeling.task_types.text_multilabel import TEXT_CLASSIFICATION_MULTILABEL

__all__ = [
    "CUSTOM",
    "IMAGE_CLASSIFICATION",
    "TEXT_CLASSIFICATION",
    "TEXT_CLASSIFICATION_MULTILABEL",
    "TEXT_ENTITY_RECOGNITION",
    "TEXT_ENTITY_RECOGNITION_OVERLAPPING",
    "TaskType",
    "get_task_type",
    "register_task_type",
    "task_type_choices",
]
