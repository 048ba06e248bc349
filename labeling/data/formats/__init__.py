"""Export formats beyond the augmented manifest: COCO, Pascal VOC, YOLO, MOT."""

from labeling.data.formats import coco, mot, voc, yolo
from labeling.data.formats.base import ExportFormat, export_format_names, get_export_format

__all__ = [
    "ExportFormat",
    "coco",
    "export_format_names",
    "get_export_format",
    "mot",
    "voc",
    "yolo",
]
