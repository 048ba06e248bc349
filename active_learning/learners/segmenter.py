"""Semantic segmentation: a small U-Net in torch (three scales, skip connections), trained on
CPU with per-pixel cross-entropy; no downloaded weights.

Inputs are the job's images decoded at ``size`` × ``size`` (RGB uint8); targets are label
maps at that size (0 none, k + 1 label k). Predictions come back at each image's own size:
the class scores are resized (bilinear) before the per-pixel choice, so edges stay smooth.

The per-item score is what the auto-label threshold reads: the model's own estimate of the
mean IoU of its answer. For each class c with predicted mask M_c and probabilities p_c, the
expected IoU against a label drawn from the model's distribution is about
Σ p_c·M_c / (Σ M_c + Σ p_c·(1 − M_c)): certain pixels inside the mask count fully, doubtful
edges and probable pixels left out pull it down. The mean over the classes that are present
(predicted, or with probability mass worth a pixel) is the score; an image where the model
sees nothing scores 1 (nothing to miss but what the discount below counts). A class it leaves
out discounts the score by its chance of being there (its highest pixel probability).
Whether the score ranks items well is measured on the validation slice, not assumed.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from torch import nn

from active_learning.learners.base import Heartbeat
from active_learning.learners.torch_fit import fit_batches, seeded

BATCH_SIZE = 16
PREDICT_BATCH = 64
TARGET_SAMPLES_SEEN = 16_000
MIN_EPOCHS, MAX_EPOCHS = 10, 300
AUGMENT_SHIFT = 6


@dataclass(frozen=True)
class MaskPrediction:
    """One image's label map at its own size (0 none, k + 1 label k) and the item score."""

    label_map: np.ndarray
    score: float


def _double(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


class _UNet(nn.Module):
    def __init__(self, outputs: int, width: int):
        super().__init__()
        self.down1 = _double(3, width)
        self.down2 = _double(width, width * 2)
        self.down3 = _double(width * 2, width * 4)
        self.up2 = _double(width * 4 + width * 2, width * 2)
        self.up1 = _double(width * 2 + width, width)
        self.out = nn.Conv2d(width, outputs, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        first = self.down1(images)
        second = self.down2(nn.functional.max_pool2d(first, 2))
        third = self.down3(nn.functional.max_pool2d(second, 2))
        up = nn.functional.interpolate(third, scale_factor=2, mode="bilinear")
        up = self.up2(torch.cat([up, second], 1))
        up = nn.functional.interpolate(up, scale_factor=2, mode="bilinear")
        return self.out(self.up1(torch.cat([up, first], 1)))


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
    return (tensor - 0.5) / 0.5


def _augment(
    images: torch.Tensor, maps: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A left-right flip, a shift of up to AUGMENT_SHIFT pixels, the channels permuted."""
    size = images.shape[-1]
    flip = torch.rand(len(images), generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    maps = torch.where(flip[:, None, None], maps.flip(-1), maps)
    dx, dy = torch.randint(0, 2 * AUGMENT_SHIFT + 1, (2,), generator=generator).tolist()
    images = nn.functional.pad(images, [AUGMENT_SHIFT] * 4, mode="replicate")
    maps = nn.functional.pad(maps[:, None].float(), [AUGMENT_SHIFT] * 4, mode="replicate")
    images = images[:, :, dy : dy + size, dx : dx + size]
    maps = maps[:, 0, dy : dy + size, dx : dx + size].long()
    return images[:, torch.randperm(3, generator=generator)], maps


def expected_iou_score(probabilities: np.ndarray, label_map: np.ndarray) -> float:
    """The model's estimate of its answer's mean IoU (see the module's docstring):
    ``probabilities`` is (classes + 1) × H × W with "none" first, ``label_map`` its argmax.

    A class the answer leaves out would score 0 if the image had it: its chance of being
    there somewhere (its highest pixel probability) discounts the estimate.
    """
    scores, missing = [], 1.0
    for value in range(1, len(probabilities)):
        chosen = label_map == value
        p = probabilities[value]
        if not chosen.any():
            missing *= 1.0 - float(p.max())
            continue
        inside = float((p * chosen).sum())
        scores.append(inside / max(float(chosen.sum()) + float((p * ~chosen).sum()), 1e-9))
    return (float(np.mean(scores)) if scores else 1.0) * missing


class SmallSegmenter:
    kind = "image-segmenter"
    suffix = "pt"

    def __init__(self, *, size: int = 64, width: int = 12, seed: int = 0):
        self.size = size
        self.width = width
        self.seed = seed
        self.classes = 0
        self.network: _UNet | None = None

    def fit(
        self, inputs: np.ndarray, targets: np.ndarray, classes: int, heartbeat: Heartbeat
    ) -> None:
        """``targets``: label maps (items × size × size, 0 none, k + 1 label k)."""
        generator = seeded(self.seed)
        self.classes = classes
        self.network = network = _UNet(classes + 1, self.width)
        images = _to_tensor(inputs)
        maps = torch.from_numpy(np.asarray(targets, np.int64))

        def batch_loss(pick: torch.Tensor) -> torch.Tensor:
            batch, truth = _augment(images[pick], maps[pick], generator)
            return nn.functional.cross_entropy(network(batch), truth)

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

    def predict(
        self, inputs: np.ndarray, sizes: list[tuple[int, int]] | None = None
    ) -> list[MaskPrediction]:
        """Label maps at ``sizes`` (width, height per image; the input size by default)."""
        assert self.network is not None
        out: list[MaskPrediction] = []
        with torch.inference_mode():
            for start in range(0, len(inputs), PREDICT_BATCH):
                logits = self.network(_to_tensor(inputs[start : start + PREDICT_BATCH]))
                for offset, one in enumerate(logits):
                    width, height = (
                        sizes[start + offset] if sizes is not None else (self.size, self.size)
                    )
                    resized = nn.functional.interpolate(
                        one[None], size=(height, width), mode="bilinear"
                    )[0]
                    probabilities = torch.softmax(resized, 0).numpy()
                    label_map = probabilities.argmax(0).astype(np.uint8)
                    score = expected_iou_score(probabilities, label_map)
                    out.append(MaskPrediction(label_map, score))
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
