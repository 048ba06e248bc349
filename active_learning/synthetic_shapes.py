"""Rendered shapes on noise whose right answer is known: the test and bench set of automated
box and mask labeling (rectangles, ellipses and triangles; boxes and an exact label map)."""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ("rectangle", "ellipse", "triangle")


@dataclass(frozen=True)
class RenderedImage:
    pixels: np.ndarray  # height × width × 3, uint8
    boxes: list[tuple[int, int, int, int, int]]  # class id, left, top, width, height (pixels)
    label_map: np.ndarray  # height × width, uint8: 0 none, k + 1 class k


def render_shapes(
    rng: np.random.Generator,
    *,
    size: int = 64,
    most: int = 3,
    noise: float = 40.0,
    classes: int = len(SHAPE_CLASSES),
) -> RenderedImage:
    """One image: 1 to ``most`` shapes of random class (the first ``classes`` of
    SHAPE_CLASSES), size, place and colour on noise; the shapes overlap little (a new one may
    not cover a third of an earlier one's box)."""
    background = rng.normal(128, noise, (size, size, 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(background)
    labels = Image.new("L", (size, size), 0)
    draw, label_draw = ImageDraw.Draw(image), ImageDraw.Draw(labels)
    boxes: list[tuple[int, int, int, int, int]] = []
    for _ in range(int(rng.integers(1, most + 1))):
        for _attempt in range(20):
            w = int(rng.integers(size // 6, size // 2))
            h = int(rng.integers(size // 6, size // 2))
            left, top = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
            if all(_overlap((left, top, w, h), box[1:]) < 0.3 for box in boxes):
                break
        else:
            continue
        class_id = int(rng.integers(0, classes))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        corners = [left, top, left + w - 1, top + h - 1]
        for canvas, fill in ((draw, color), (label_draw, class_id + 1)):
            if class_id == 0:
                canvas.rectangle(corners, fill=fill)
            elif class_id == 1:
                canvas.ellipse(corners, fill=fill)
            else:
                points = [(left + w // 2, top), (left, top + h - 1), (left + w - 1, top + h - 1)]
                canvas.polygon(points, fill=fill)
        boxes.append((class_id, left, top, w, h))
    return RenderedImage(np.asarray(image), boxes, np.asarray(labels))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The share of the smaller box that the two boxes have in common."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min(a[2] * a[3], b[2] * b[3])
