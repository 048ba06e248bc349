"""Semantic segmentation of an image: every pixel gets one of the job's labels or none.

The answer is what ``<crowd-semantic-segmentation>`` submits, the managed service's shape::

    {"crowd-semantic-segmentation": {
        "inputImageProperties": {"width", "height"},
        "labelMappings": {"<label>": {"color": "#rrggbb"}},
        "labeledImage": {"pngImageData": "<base64 PNG>"}}}

The PNG is an RGB(A) label map: each pixel is a label's colour, white (#ffffff), black, or
fully transparent for none. On submit it is decoded with Pillow and checked (a PNG, the
image's size, under the pixel and byte limits, no colour outside the mappings); what is
stored is an 8-bit index PNG (0 = none, k + 1 = the job's label k) under
``MEDIA_ROOT/label-maps/`` and, in the answer, its path and per-label pixel counts instead of
the base64 text. Consolidation is a per-pixel vote; the result is an RGB PNG in the same
folder, named in the ``groundtruth/semantic-segmentation`` manifest by ``<attribute>-ref``.
"""

import base64
import binascii
import io
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from labeling.consolidation.masks import rle_encode, vote_label_maps
from labeling.task_types import answer_fields as f
from labeling.task_types import compared
from labeling.task_types.base import AnswerProblem, Consolidated, ParsedAnswer, register_task_type
from labeling.task_types.classification import _check_image_ref

LABEL_MAP_FOLDER = "label-maps"
BACKGROUND_HEX = "#ffffff"
DEFAULT_COLORS = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
)  # fmt: skip


def _hex_to_int(value: str, where: str) -> int:
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) != 7 or not text.startswith("#"):
        raise AnswerProblem(f"{where} must be a colour like #1f77b4, not {value!r}")
    try:
        return int(text[1:], 16)
    except ValueError:
        raise AnswerProblem(f"{where} must be a colour like #1f77b4, not {value!r}") from None


def default_color(index: int) -> str:
    return DEFAULT_COLORS[index % len(DEFAULT_COLORS)]


def _media_path(ref: str) -> Path:
    return Path(settings.MEDIA_ROOT) / ref


def save_label_png(array: np.ndarray, mode: str, prefix: str) -> str:
    folder = _media_path(LABEL_MAP_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{LABEL_MAP_FOLDER}/{prefix}{uuid.uuid4().hex}.png"
    Image.fromarray(array, mode=mode).save(_media_path(name), format="PNG", optimize=False)
    return name


def load_label_map(ref: str) -> np.ndarray:
    with Image.open(_media_path(ref)) as image:
        return np.asarray(image)


def decode_label_map(
    data: Any, size: dict[str, int], colors: dict[int, int], where: str
) -> np.ndarray:
    """The base64 PNG -> an index map (0 = none, colours mapped through ``colors``)."""
    if not isinstance(data, str) or not data:
        raise AnswerProblem(f"{where} must be a base64 PNG")
    limit = settings.QUORUM_IMAGE_MAX_BYTES
    if len(data) > limit * 4 // 3 + 4:
        raise AnswerProblem(f"{where} is over {limit} bytes")
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AnswerProblem(f"{where} is not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG":
                raise AnswerProblem(f"{where} must be a PNG, not {image.format}")
            width, height = image.size
            if width * height > settings.QUORUM_IMAGE_MAX_PIXELS:
                raise AnswerProblem(f"{where} has {width * height} pixels, over the limit")
            if (width, height) != (size["width"], size["height"]):
                raise AnswerProblem(
                    f"{where} is {width}x{height}; the image is {size['width']}x{size['height']}"
                )
            rgba = np.asarray(image.convert("RGBA"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise AnswerProblem(f"{where} is not a PNG that Pillow can read") from None
    packed = (
        rgba[..., 0].astype(np.int32) << 16
        | rgba[..., 1].astype(np.int32) << 8
        | rgba[..., 2].astype(np.int32)
    )
    packed[rgba[..., 3] == 0] = 0xFFFFFF  # transparent: none
    unique, inverse = np.unique(packed, return_inverse=True)
    lookup = np.zeros(len(unique), dtype=np.uint8)
    for position, color in enumerate(unique.tolist()):
        if color in (0xFFFFFF, 0x000000):
            continue
        if color not in colors:
            count = int((inverse == position).sum())
            raise AnswerProblem(
                f"{where} has {count} pixel(s) of colour #{color:06x}, which no label in "
                "labelMappings has"
            )
        lookup[position] = colors[color]
    return lookup[inverse.reshape(packed.shape)]


@dataclass(frozen=True)
class SemanticSegmentation:
    key: str = "image-semantic-segmentation"
    title: str = "Image: semantic segmentation"
    media: str = "image"
    manifest_type: str = "groundtruth/semantic-segmentation"
    template_name: str = "tasks/image_semantic_segmentation.html"
    consolidation: str = "pixel-vote"
    # Issue 19: consolidate_answers takes the workers' stored reliabilities as weights.
    weighted_by_reliability = True
    coco_kind: str = "masks"
    export_formats: tuple[str, ...] = ("coco",)
    # The label attribute holds a reference to the PNG: "<attribute>-ref".
    manifest_attribute_suffix: str = "-ref"

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "labeledImage")
        name = name or "crowd-semantic-segmentation"
        size = f.image_size(inner, name)
        mappings = f.require(inner, "labelMappings", name)
        if not isinstance(mappings, dict):
            raise AnswerProblem(f"{name}.labelMappings must be an object of label: {{color}}")
        colors: dict[int, int] = {}
        kept_mappings = {}
        for label, mapping in mappings.items():
            where = f"{name}.labelMappings.{label}"
            f.label(label, labels, where)
            if not isinstance(mapping, dict):
                raise AnswerProblem(f"{where} must be an object with a color")
            color = _hex_to_int(f.require(mapping, "color", where), f"{where}.color")
            if color in (0xFFFFFF, 0x000000) or color in colors:
                raise AnswerProblem(f"{where}.color is white, black or another label's colour")
            colors[color] = labels.index(label) + 1
            kept_mappings[label] = {"color": f"#{color:06x}"}
        image = f.require(inner, "labeledImage", name)
        if not isinstance(image, dict):
            raise AnswerProblem(f"{name}.labeledImage must be an object with pngImageData")
        data = f.require(image, "pngImageData", f"{name}.labeledImage")
        index_map = decode_label_map(data, size, colors, f"{name}.labeledImage.pngImageData")
        counts = np.bincount(index_map.ravel(), minlength=len(labels) + 1)
        ref = save_label_png(index_map, "L", "answer-")
        return ParsedAnswer(
            answer={
                name: {
                    "inputImageProperties": size,
                    "labelMappings": kept_mappings,
                    "labeledImage": {"ref": ref},
                    "pixels": {
                        labels[k - 1]: int(counts[k]) for k in range(1, len(counts)) if counts[k]
                    },
                }
            }
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        maps = [load_label_map(inner["labeledImage"]["ref"]) for inner in inners]
        # Every map should have the image's size; should a client have reported another,
        # the maps of the most common size are voted on rather than the vote failing.
        shapes = Counter(m.shape for m in maps)
        shape = max(shapes, key=lambda s: (shapes[s], s))
        same = [m.shape == shape for m in maps]
        inners = [inner for inner, keep in zip(inners, same, strict=True) if keep]
        maps = [m for m, keep in zip(maps, same, strict=True) if keep]
        if weights is not None:
            weights = [w for w, keep in zip(weights, same, strict=True) if keep]
        voted, confidence = vote_label_maps(
            maps, len(labels), None if weights is None else np.asarray(weights, dtype=np.float64)
        )
        color_map = {label: default_color(i) for i, label in enumerate(labels)}
        for inner in inners:  # the workers' own colours, where they gave them
            for label, mapping in inner["labelMappings"].items():
                color_map[label] = mapping["color"]
        palette = np.zeros((len(labels) + 1, 3), dtype=np.uint8)
        palette[0] = (255, 255, 255)
        for i, label in enumerate(labels):
            palette[i + 1] = [int(color_map[label][j : j + 2], 16) for j in (1, 3, 5)]
        ref = save_label_png(palette[voted], "RGB", "consolidated-")
        index_ref = save_label_png(voted, "L", "consolidated-index-")
        counts = np.bincount(voted.ravel(), minlength=len(labels) + 1)
        return Consolidated(
            value={
                "image_size": inners[0]["inputImageProperties"],
                "ref": ref,
                "index_ref": index_ref,
                "color_map": color_map,
                "pixels": {
                    labels[k - 1]: int(counts[k]) for k in range(1, len(counts)) if counts[k]
                },
            },
            confidence=round(confidence, 6),
            method=self.consolidation,
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        """The labels that cover at least one pixel of the voted map."""
        return [label for label, pixels in value["pixels"].items() if pixels]

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Mean per-class IoU of the two label maps (classes in either, background out)."""
        return compared.label_maps_similarity(answer, other, labels)

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        color_map = {"0": {"class-name": "BACKGROUND", "hex-color": BACKGROUND_HEX}}
        for i, label in enumerate(labels):
            color_map[str(i + 1)] = {"class-name": label, "hex-color": value["color_map"][label]}
        return value["ref"], {"internal-color-map": color_map}

    def export_objects(self, value: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
        index_map = load_label_map(value["index_ref"])
        objects = []
        for k in np.unique(index_map).tolist():
            if k == 0:
                continue
            mask = index_map == k
            rows = np.flatnonzero(mask.any(axis=1))
            cols = np.flatnonzero(mask.any(axis=0))
            objects.append(
                {
                    "label": labels[k - 1],
                    "class_id": k - 1,
                    "bbox": [
                        int(cols[0]),
                        int(rows[0]),
                        int(cols[-1] - cols[0] + 1),
                        int(rows[-1] - rows[0] + 1),
                    ],
                    "rle": rle_encode(mask),
                    "area": int(mask.sum()),
                }
            )
        return objects


IMAGE_SEMANTIC_SEGMENTATION = register_task_type(SemanticSegmentation())
