"""Export formats beyond the augmented manifest: COCO, Pascal VOC, YOLO, MOT, and the LLM
types' JSON Lines (preference pairs, rankings, ratings, question–answer pairs)."""

from labeling.data.formats import coco, llm, mot, preferences, voc, yolo
from labeling.data.formats.base import ExportFormat, export_format_names, get_export_format

__all__ = [
    "ExportFormat",
    "coco",
    "export_format_names",
    "llm",
    "get_export_format",
    "mot",
    "preferences",
    "voc",
    "yolo",
]
