"""Task types: each says what an item holds, what an answer is, and how both are output."""

from labeling.task_types.base import (
    TaskType,
    get_task_type,
    register_task_type,
    task_type_choices,
    task_type_reserved_message,
)
from labeling.task_types.classification import IMAGE_CLASSIFICATION, TEXT_CLASSIFICATION
from labeling.task_types.custom import CUSTOM
from labeling.task_types.document_review import DOCUMENT_KEY_VALUE_REVIEW
from labeling.task_types.image_boxes import IMAGE_BOUNDING_BOX, IMAGE_BOUNDING_BOX_ADJUSTMENT
from labeling.task_types.image_classification_multi import (
    IMAGE_CLASSIFICATION_MULTILABEL,
    IMAGE_LABEL_VERIFICATION,
)
from labeling.task_types.image_lines import IMAGE_LINE, IMAGE_POLYLINE
from labeling.task_types.image_segmentation import IMAGE_SEMANTIC_SEGMENTATION
from labeling.task_types.image_shapes import IMAGE_KEYPOINT, IMAGE_POLYGON
from labeling.task_types.llm_pairwise import LLM_PAIRWISE_PREFERENCE
from labeling.task_types.llm_qa import LLM_QA_WRITING
from labeling.task_types.llm_ranking import LLM_RANKING
from labeling.task_types.llm_rubric import LLM_RUBRIC_RATING
from labeling.task_types.llm_side_by_side import LLM_SIDE_BY_SIDE
from labeling.task_types.moderation_review import IMAGE_MODERATION_REVIEW
from labeling.task_types.text_entities import (
    TEXT_ENTITY_RECOGNITION,
    TEXT_ENTITY_RECOGNITION_OVERLAPPING,
)
from labeling.task_types.text_multilabel import TEXT_CLASSIFICATION_MULTILABEL
from labeling.task_types.video import (
    VIDEO_CLASSIFICATION,
    VIDEO_OBJECT_DETECTION,
    VIDEO_OBJECT_TRACKING,
)
from labeling.task_types.with_earlier_labels import ADJUSTMENT_TYPES, VERIFICATION_TYPES

__all__ = [
    "IMAGE_BOUNDING_BOX",
    "IMAGE_BOUNDING_BOX_ADJUSTMENT",
    "IMAGE_CLASSIFICATION_MULTILABEL",
    "IMAGE_KEYPOINT",
    "IMAGE_LABEL_VERIFICATION",
    "IMAGE_LINE",
    "IMAGE_POLYGON",
    "IMAGE_POLYLINE",
    "IMAGE_SEMANTIC_SEGMENTATION",
    "IMAGE_CLASSIFICATION",
    "TEXT_CLASSIFICATION",
    "VIDEO_CLASSIFICATION",
    "VIDEO_OBJECT_DETECTION",
    "VIDEO_OBJECT_TRACKING",
    "CUSTOM",
    "DOCUMENT_KEY_VALUE_REVIEW",
    "IMAGE_MODERATION_REVIEW",
    "LLM_PAIRWISE_PREFERENCE",
    "LLM_QA_WRITING",
    "LLM_RANKING",
    "LLM_RUBRIC_RATING",
    "LLM_SIDE_BY_SIDE",
    "TEXT_CLASSIFICATION_MULTILABEL",
    "TEXT_ENTITY_RECOGNITION",
    "TEXT_ENTITY_RECOGNITION_OVERLAPPING",
    "ADJUSTMENT_TYPES",
    "VERIFICATION_TYPES",
    "TaskType",
    "get_task_type",
    "register_task_type",
    "task_type_choices",
    "task_type_reserved_message",
]
