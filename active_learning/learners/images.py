"""Decoding a job's images once: Pillow, a fixed size, RGB, cached per item on disk."""

from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SIZE = 32


class ImageUnavailable(ValueError):
    """An item whose image cannot be read from the media folder."""


def decode_image(root: Path, ref: str, size: int = IMAGE_SIZE) -> np.ndarray:
    """The image at ``ref`` (inside ``root``) as a size × size × 3 uint8 array."""
    if urlparse(ref).scheme:
        raise ImageUnavailable(f"{ref!r} is not in the media folder; remote images are not read")
    path = (root / ref).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise ImageUnavailable(f"{ref!r} is missing from the media folder")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((size * 4, size * 4))
            return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageUnavailable(f"{ref!r} cannot be decoded: {exc}") from None


def load_pixels(
    *, cache_file: Path, root: Path, refs: dict[int, str], size: int = IMAGE_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the items ``refs`` (item id → source-ref), decoding only what the cache lacks.

    Returns (item ids, pixels) in the order of ``refs``; items whose image cannot be read are
    left out. The cache is an .npz of ids and pixels, replaced atomically when it grows.
    """
    cached_ids = np.zeros(0, np.int64)
    cached = np.zeros((0, size, size, 3), np.uint8)
    if cache_file.exists():
        with np.load(cache_file) as stored:
            if stored["pixels"].shape[1:] == (size, size, 3):
                cached_ids, cached = stored["ids"], stored["pixels"]
    position = {int(item_id): index for index, item_id in enumerate(cached_ids)}
    new_ids, new_pixels = [], []
    for item_id, ref in refs.items():
        if item_id in position:
            continue
        try:
            new_pixels.append(decode_image(root, ref, size))
        except ImageUnavailable:
            continue
        new_ids.append(item_id)
    if new_ids:
        cached_ids = np.concatenate([cached_ids, np.asarray(new_ids, np.int64)])
        cached = np.concatenate([cached, np.stack(new_pixels)])
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(partial, ids=cached_ids, pixels=cached)
        partial.replace(cache_file)
        position = {int(item_id): index for index, item_id in enumerate(cached_ids)}
    wanted = [item_id for item_id in refs if item_id in position]
    rows = np.asarray([position[item_id] for item_id in wanted], np.int64)
    return np.asarray(wanted, np.int64), cached[rows] if len(rows) else cached[:0]
