"""Preview thumbnails of image and video items, made once by a Celery worker and stored.

An item's ``thumbnail`` is "" until its turn, then the path of its JPEG under MEDIA_ROOT, or
``NO_THUMBNAIL`` when none can be made (remote media, a missing or unreadable file), so no
item is tried twice. A video item's thumbnail is its first frame's.
"""

import json
import logging
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from labeling.models import Item

THUMBNAIL_BATCH = 500
THUMBNAIL_PIXELS = (160, 120)
THUMBNAILS_DIR = "thumbnails"
NO_THUMBNAIL = "-"

logger = logging.getLogger(__name__)


def _media_ref(data: str) -> str | None:
    try:
        line = json.loads(data)
    except ValueError:
        return None
    if not isinstance(line, dict):
        return None
    frames = line.get("frames")
    if isinstance(frames, list) and frames:
        return str(frames[0])
    ref = line.get("source-ref")
    return ref if isinstance(ref, str) else None


def _make(item_id: int, job_id: int, ref: str) -> str:
    root = Path(settings.MEDIA_ROOT).resolve()
    source = (root / ref).resolve()
    if "://" in ref or root not in source.parents or not source.is_file():
        return NO_THUMBNAIL
    relative = Path(THUMBNAILS_DIR) / str(job_id) / f"{item_id}.jpg"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(source) as image:
            image.thumbnail(THUMBNAIL_PIXELS)
            image.convert("RGB").save(target, "JPEG", quality=80)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        logger.info("no thumbnail for item %s: %s is not a readable image", item_id, ref)
        return NO_THUMBNAIL
    return str(relative)


def item_thumbnails_make(*, job_id: int, limit: int = THUMBNAIL_BATCH) -> int:
    """Make the thumbnails of up to ``limit`` items of the job that have none yet; returns how
    many items it settled (0: the job has none left). Idempotent: a settled item is skipped."""
    rows = list(
        Item.objects.filter(job_id=job_id, thumbnail="")
        .order_by("id")
        .values_list("id", "data")[:limit]
    )
    for item_id, data in rows:
        ref = _media_ref(data)
        path = _make(item_id, job_id, ref) if ref else NO_THUMBNAIL
        Item.objects.filter(pk=item_id, thumbnail="").update(thumbnail=path)
    return len(rows)
