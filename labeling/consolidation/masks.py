"""Label maps of several workers -> one label map by per-pixel vote; COCO run-length codes.

A label map is a 2-D integer array: 0 is background, k + 1 is the job's label k. Every
pixel takes the class most workers gave it (ties go to the lower index, so to background
before any label). The confidence is the mean share of workers that agree with the result,
over the pixels some worker labelled (over all pixels when nobody labelled any).

With ``weights`` (a reliability per map, issue 19) a pixel takes the class of most total
weight and the confidence is the weighted share; without them every map counts one.
"""

import numpy as np

from labeling.consolidation.matching import answer_weights


def vote_label_maps(
    maps: list[np.ndarray], n_classes: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """``maps`` are same-shape arrays of values in 0..n_classes (0 = background);
    ``weights[m]`` is map m's weight (None: every map counts one)."""
    if not maps:
        raise ValueError("no label maps to vote on")
    stack = np.stack([np.asarray(m, dtype=np.uint8) for m in maps])
    if stack.max(initial=0) > n_classes:
        raise ValueError("a label map names a class outside 0..n_classes")
    weights = answer_weights(weights, len(maps))
    if weights is None:
        counts = np.zeros((n_classes + 1, *stack.shape[1:]), dtype=np.uint16)
        for value in range(n_classes + 1):
            counts[value] = (stack == value).sum(axis=0, dtype=np.uint16)
        total = float(len(maps))
    else:
        counts = np.zeros((n_classes + 1, *stack.shape[1:]), dtype=np.float64)
        for value in range(n_classes + 1):
            counts[value] = np.tensordot(weights, stack == value, axes=1)
        total = float(weights.sum())
    winner = counts.argmax(axis=0).astype(np.uint8)
    agreement = np.take_along_axis(counts, winner[None], axis=0)[0] / total
    labelled = (stack > 0).any(axis=0)
    region = agreement[labelled] if labelled.any() else agreement
    return winner, float(region.mean())


def mask_iou(predicted: np.ndarray, truth: np.ndarray, n_classes: int) -> float:
    """Mean IoU over the classes present in either map (background excluded).

    The target metric of automated mask labeling (0.7 by default, as the managed service
    used); 1.0 when neither map has any class.
    """
    scores = []
    for value in range(1, n_classes + 1):
        a, b = predicted == value, truth == value
        union = np.logical_or(a, b).sum()
        if union:
            scores.append(np.logical_and(a, b).sum() / union)
    return float(np.mean(scores)) if scores else 1.0


def rle_encode(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE of a boolean mask: run lengths in column-major order,
    starting with a run of zeros (possibly empty)."""
    mask = np.asarray(mask, dtype=bool)
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": runs}


def rle_decode(rle: dict) -> np.ndarray:
    height, width = rle["size"]
    flat = np.zeros(height * width, dtype=bool)
    position = 0
    for index, run in enumerate(rle["counts"]):
        if index % 2:
            flat[position : position + run] = True
        position += run
    return flat.reshape((height, width), order="F")
