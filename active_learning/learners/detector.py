"""Bounding boxes: a small single-stage detector in torch (a centre heatmap per class with box
size and sub-cell offset regression, as CenterNet does), trained on CPU, no downloaded weights.

Inputs are the job's images decoded at ``size`` × ``size`` (RGB uint8); boxes go in and come
out in fractions of the image (x, y, w, h in [0, 1]) so that each image's own size is the
caller's business. The output grid is a quarter of the input (16 × 16 cells at 64 pixels).

The per-item score is what the auto-label threshold reads: the model's confidence that its
*whole* answer is right. It multiplies two things the model can tell without a label:

* presence and class: every local peak of the (class-agnostic) centre heatmap above a floor
  is a yes/no decision (a box or not); the score takes ``max(p, 1 − p)`` of each, so a
  near-threshold peak (a doubtful box, kept or dropped) pulls the item down, as the
  multi-label confidence does for labels; each kept box also brings its class probability;
* localisation: the boxes predicted again on the image shifted by half a grid cell, shifted
  back, are matched to the first ones; their mean IoU (misses and extras 0) is low where the
  model's boxes are unstable.

Whether the score ranks items well is not assumed: the threshold is picked on a random
validation slice against human labels (``active_learning.iou_threshold``).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from torch import nn

from active_learning.learners.base import Heartbeat
from active_learning.learners.torch_fit import fit_batches, seeded
from labeling.consolidation.boxes import mean_iou

STRIDE = 4
BATCH_SIZE = 32
PREDICT_BATCH = 256
# Training length: samples seen (clamped to an epoch range); the setting overrides it.
TARGET_SAMPLES_SEEN = 24_000
MIN_EPOCHS, MAX_EPOCHS = 10, 300
PEAK_FLOOR = 0.1  # peaks below this are not decisions the score counts
DETECTION_THRESHOLD = 0.5
SHIFT_PIXELS = 2  # the localisation check: half a grid cell
AUGMENT_SHIFT = 6


@dataclass(frozen=True)
class BoxPrediction:
    """One image's boxes (x, y, w, h as fractions of the image), classes, box scores, and the
    item score the threshold reads."""

    boxes: np.ndarray
    classes: np.ndarray
    box_scores: np.ndarray
    score: float


def _block(inputs: int, outputs: int, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(inputs, outputs, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    ]


class _Network(nn.Module):
    def __init__(self, classes: int, width: int):
        super().__init__()
        self.body = nn.Sequential(
            *_block(3, width, stride=2),
            *_block(width, width * 2),
            *_block(width * 2, width * 4, stride=2),
            *_block(width * 4, width * 4),
            *_block(width * 4, width * 4, dilation=2),
            *_block(width * 4, width * 4, dilation=4),
        )
        # A centre heatmap (any class), the class at a centre, w, h (fractions), dx, dy.
        self.heads = nn.Conv2d(width * 4, 1 + classes + 4, 1)
        with torch.no_grad():
            self.heads.bias[0] = -2.19  # a prior of 0.1 on centres: training starts stable

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.heads(self.body(images))


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
    return (tensor - 0.5) / 0.5


def _targets(boxes: list[np.ndarray], grid: int) -> tuple[torch.Tensor, ...]:
    """Gaussian centre heatmaps; at each box centre its class, size and offset."""
    heat = np.zeros((len(boxes), 1, grid, grid), np.float32)
    label = np.full((len(boxes), grid, grid), -100, np.int64)  # -100: no class to learn
    shape = np.zeros((len(boxes), 4, grid, grid), np.float32)
    mask = np.zeros((len(boxes), 1, grid, grid), np.float32)
    ys, xs = np.mgrid[0:grid, 0:grid]
    for index, rows in enumerate(boxes):
        for class_id, x, y, w, h in rows:
            cx, cy = (x + w / 2) * grid, (y + h / 2) * grid
            col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
            sigma = max(0.5, max(w, h) * grid / 6)
            blob = np.exp(-((xs - col) ** 2 + (ys - row) ** 2) / (2 * sigma**2))
            heat[index, 0] = np.maximum(heat[index, 0], blob)
            heat[index, 0, row, col] = 1.0
            label[index, row, col] = int(class_id)
            shape[index, :, row, col] = (w, h, cx - col, cy - row)
            mask[index, 0, row, col] = 1.0
    return (
        torch.from_numpy(heat),
        torch.from_numpy(label),
        torch.from_numpy(shape),
        torch.from_numpy(mask),
    )


def _focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, averaged over the objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    pos = -torch.log(p) * (1 - p) ** 2 * positive
    neg = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - positive)
    return (pos.sum() + neg.sum()) / positive.sum().clamp(min=1.0)


def _augment(
    images: torch.Tensor, boxes: list[np.ndarray], rng: np.random.Generator
) -> tuple[torch.Tensor, list[np.ndarray]]:
    """Label-preserving changes: a left-right flip, a shift of up to AUGMENT_SHIFT pixels
    (the border repeated), the colour channels permuted; the boxes follow."""
    size = images.shape[-1]
    out, moved = [], []
    for image, rows in zip(images, boxes, strict=True):
        rows = rows.copy()
        if rng.random() < 0.5:
            image = image.flip(-1)
            rows[:, 1] = 1 - rows[:, 1] - rows[:, 3]
        dx, dy = (int(v) for v in rng.integers(-AUGMENT_SHIFT, AUGMENT_SHIFT + 1, 2))
        padded = nn.functional.pad(image[None], [AUGMENT_SHIFT] * 4, mode="replicate")[0]
        top, left = AUGMENT_SHIFT - dy, AUGMENT_SHIFT - dx
        image = padded[:, top : top + size, left : left + size]
        x0 = (rows[:, 1] + dx / size).clip(0, 1)
        y0 = (rows[:, 2] + dy / size).clip(0, 1)
        x1 = (rows[:, 1] + rows[:, 3] + dx / size).clip(0, 1)
        y1 = (rows[:, 2] + rows[:, 4] + dy / size).clip(0, 1)
        rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4] = x0, y0, x1 - x0, y1 - y0
        rows = rows[(rows[:, 3] > 1 / size) & (rows[:, 4] > 1 / size)]
        out.append(image[torch.from_numpy(rng.permutation(3))])
        moved.append(rows)
    return torch.stack(out), moved


def _shift(images: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """The images moved by (dx, dy) pixels (≥ 0), the border repeated."""
    padded = nn.functional.pad(images, [dx, 0, dy, 0], mode="replicate")
    return padded[:, :, : images.shape[2], : images.shape[3]]


class SmallDetector:
    kind = "image-detector"
    suffix = "pt"

    def __init__(self, *, size: int = 64, width: int = 16, seed: int = 0):
        self.size = size
        self.width = width
        self.seed = seed
        self.classes = 0
        self.network: _Network | None = None

    def fit(
        self, inputs: np.ndarray, targets: list[np.ndarray], classes: int, heartbeat: Heartbeat
    ) -> None:
        """``targets``: per image an (objects × 5) array of class, x, y, w, h (fractions)."""
        generator = seeded(self.seed)
        self.classes = classes
        self.network = network = _Network(classes, self.width)
        images = _to_tensor(inputs)
        grid = self.size // STRIDE
        rng = np.random.default_rng(self.seed)
        targets = [np.asarray(rows, np.float64).reshape(-1, 5) for rows in targets]
        weights = torch.tensor([4.0, 4.0, 1.0, 1.0]).view(1, 4, 1, 1)

        def batch_loss(pick: torch.Tensor) -> torch.Tensor:
            batch, rows = _augment(images[pick], [targets[i] for i in pick.tolist()], rng)
            heat, label, shape, mask = _targets(rows, grid)
            out = network(batch)
            objects = mask.sum().clamp(min=1.0)
            regression = ((out[:, 1 + classes :] - shape).abs() * mask * weights).sum()
            class_loss = nn.functional.cross_entropy(
                out[:, 1 : 1 + classes], label, ignore_index=-100, reduction="sum"
            )
            return _focal_loss(out[:, :1], heat) + (regression + class_loss) / objects

        fit_batches(
            network,
            count=len(images),
            batch_size=BATCH_SIZE,
            samples_seen=int(
                getattr(settings, "ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN", TARGET_SAMPLES_SEEN)
            ),
            epochs_between=(MIN_EPOCHS, MAX_EPOCHS),
            learning_rate=4e-3,
            weight_decay=1e-4,
            generator=generator,
            heartbeat=heartbeat,
            batch_loss=batch_loss,
        )

    def _raw(self, images: torch.Tensor) -> np.ndarray:
        """Per image: centre peaks (0 off a local maximum), class probabilities, w, h, dx, dy."""
        assert self.network is not None
        outs = []
        with torch.inference_mode():
            for start in range(0, len(images), PREDICT_BATCH):
                out = self.network(images[start : start + PREDICT_BATCH])
                heat = torch.sigmoid(out[:, :1])
                peaks = heat * (heat == nn.functional.max_pool2d(heat, 3, 1, 1)).float()
                classes = torch.softmax(out[:, 1 : 1 + self.classes], dim=1)
                outs.append(torch.cat([peaks, classes, out[:, 1 + self.classes :]], 1).numpy())
        grid = self.size // STRIDE
        return np.concatenate(outs) if outs else np.zeros((0, 5 + self.classes, grid, grid))

    def _decode(self, raw: np.ndarray, offset: float = 0.0) -> tuple[np.ndarray, ...]:
        """One image's boxes, classes, box scores, class probabilities and every peak above
        the floor (the presence decisions)."""
        grid = raw.shape[-1]
        peaks, probabilities, shape = raw[0], raw[1 : 1 + self.classes], raw[1 + self.classes :]
        rows, cols = np.nonzero(peaks >= DETECTION_THRESHOLD)
        w, h = shape[0, rows, cols], shape[1, rows, cols]
        cx = (cols + shape[2, rows, cols]) / grid - offset
        cy = (rows + shape[3, rows, cols]) / grid - offset
        boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1).clip(0, 1)
        boxes[:, 2] = np.minimum(boxes[:, 2], 1 - boxes[:, 0])
        boxes[:, 3] = np.minimum(boxes[:, 3], 1 - boxes[:, 1])
        class_probabilities = probabilities[:, rows, cols]
        classes = class_probabilities.argmax(axis=0)
        class_confidence = class_probabilities.max(axis=0)
        scores = peaks[rows, cols] * class_confidence
        return boxes, classes, scores, class_confidence, peaks[peaks >= PEAK_FLOOR]

    def predict(self, inputs: np.ndarray) -> list[BoxPrediction]:
        images = _to_tensor(inputs)
        raw = self._raw(images)
        moved_raw = self._raw(_shift(images, SHIFT_PIXELS, SHIFT_PIXELS))
        back = SHIFT_PIXELS / self.size
        out = []
        for index in range(len(images)):
            boxes, classes, scores, class_confidence, decisions = self._decode(raw[index])
            moved = self._decode(moved_raw[index], back)[0]
            presence = float(np.prod(np.maximum(decisions, 1 - decisions)))
            score = presence * float(np.prod(class_confidence)) * mean_iou(moved, boxes)
            out.append(BoxPrediction(boxes, classes, scores, score))
        return out

    def save(self, path: Path) -> None:
        assert self.network is not None
        torch.save(
            {
                "size": self.size,
                "width": self.width,
                "classes": self.classes,
                "state": self.network.state_dict(),
            },
            path,
        )
