"""Image classification: a small convolutional network in torch, trained on CPU.

Inputs are the cached RGB pixels (items × size × size × 3, uint8). Training augments with
random shifts and small brightness/contrast changes; no flips, which would turn digits and
text into other classes.
"""

from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from torch import nn

from active_learning.learners.base import Heartbeat
from active_learning.learners.torch_fit import fit_batches, seeded

BATCH_SIZE = 64
SHIFT_PIXELS = 2
# Enough passes for small sets, bounded for large ones: epochs = clamp(samples seen / n);
# ACTIVE_LEARNING_CNN_SAMPLES_SEEN overrides (more: better models, longer rounds).
TARGET_SAMPLES_SEEN = 40_000
MIN_EPOCHS, MAX_EPOCHS = 6, 200
PREDICT_BATCH = 512
LABEL_SMOOTHING = 0.05


def _network(classes: int, width: int) -> nn.Module:
    def block(inputs: int, outputs: int) -> list[nn.Module]:
        return [
            nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
            nn.BatchNorm2d(outputs),
            nn.ReLU(inplace=True),
        ]

    return nn.Sequential(
        *block(3, width),
        *block(width, width),
        nn.MaxPool2d(2),
        *block(width, width * 2),
        *block(width * 2, width * 2),
        nn.MaxPool2d(2),
        *block(width * 2, width * 4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(width * 4, classes),
    )


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
    return (tensor - 0.5) / 0.5


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    count, _, height, width = batch.shape
    padded = nn.functional.pad(batch, [SHIFT_PIXELS] * 4, mode="replicate")
    dy = torch.randint(0, 2 * SHIFT_PIXELS + 1, (count,), generator=generator)
    dx = torch.randint(0, 2 * SHIFT_PIXELS + 1, (count,), generator=generator)
    rows = (dy[:, None] + torch.arange(height)[None, :])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(width)[None, :])[:, None, None, :]
    channel = torch.arange(batch.shape[1])[None, :, None, None]
    index = torch.arange(count)[:, None, None, None]
    shifted = padded[index, channel, rows, cols]
    contrast = 1 + (torch.rand(count, 1, 1, 1, generator=generator) - 0.5) * 0.3
    brightness = (torch.rand(count, 1, 1, 1, generator=generator) - 0.5) * 0.2
    return shifted * contrast + brightness


class SmallCnn:
    kind = "image-cnn"
    suffix = "pt"

    def __init__(self, *, width: int = 16, seed: int = 0):
        self.width = width
        self.seed = seed
        self.network: nn.Module | None = None
        self.classes = 0
        self.multilabel = False

    def fit(self, inputs: np.ndarray, targets: np.ndarray, classes: int, heartbeat: Heartbeat):
        generator = seeded(self.seed)
        self.classes = classes
        # A set of labels per image: one sigmoid output per label, binary cross-entropy.
        self.multilabel = np.ndim(targets) == 2
        self.network = _network(classes, self.width)
        images = _to_tensor(inputs)
        if self.multilabel:
            labels = torch.from_numpy(np.asarray(targets, np.float32))
            loss_of = nn.BCEWithLogitsLoss()
        else:
            labels = torch.from_numpy(np.asarray(targets, np.int64))
            loss_of = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
        network = self.network

        def batch_loss(pick: torch.Tensor) -> torch.Tensor:
            return loss_of(network(_augment(images[pick], generator)), labels[pick])

        fit_batches(
            network,
            count=len(labels),
            batch_size=BATCH_SIZE,
            samples_seen=int(
                getattr(settings, "ACTIVE_LEARNING_CNN_SAMPLES_SEEN", TARGET_SAMPLES_SEEN)
            ),
            epochs_between=(MIN_EPOCHS, MAX_EPOCHS),
            learning_rate=3e-3,
            weight_decay=5e-4,
            generator=generator,
            heartbeat=heartbeat,
            batch_loss=batch_loss,
        )

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        assert self.network is not None
        out = []
        with torch.inference_mode():
            for start in range(0, len(inputs), PREDICT_BATCH):
                batch = _to_tensor(inputs[start : start + PREDICT_BATCH])
                logits = self.network(batch)
                if self.multilabel:
                    out.append(torch.sigmoid(logits).numpy())
                else:
                    out.append(torch.softmax(logits, dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.classes))

    def save(self, path: Path) -> None:
        assert self.network is not None
        torch.save(
            {
                "width": self.width,
                "classes": self.classes,
                "multilabel": self.multilabel,
                "state": self.network.state_dict(),
            },
            path,
        )
