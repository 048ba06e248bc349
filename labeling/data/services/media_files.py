"""Checks of uploaded or referenced media files (images with Pillow, videos with PyAV), and
the names their staged copies get, for the import's check pass."""

from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from labeling.data.services.video_frames import VIDEO_SUFFIXES, video_probe
from labeling.task_types.base import SourceProblem

IMAGE_FORMATS = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
}


def check_local_image_ref(ref: str) -> None:
    if "://" in ref:
        return  # a URL: the browser fetches it; nothing to check here
    path = Path(settings.MEDIA_ROOT) / ref
    if not path.is_file():
        raise SourceProblem(f'"source-ref" {ref!r} is not a file in the media folder')
    check_image_file(path)


def check_image_file(path: Path) -> str:
    """Check an image with Pillow; return its file extension, or raise SourceProblem."""
    size = path.stat().st_size
    if size > settings.QUORUM_IMAGE_MAX_BYTES:
        raise SourceProblem(f"{size} bytes is over the limit of {settings.QUORUM_IMAGE_MAX_BYTES}")
    try:
        with Image.open(path) as image:
            image_format = image.format
            width, height = image.size
            if width * height > settings.QUORUM_IMAGE_MAX_PIXELS:
                raise SourceProblem(
                    f"{width}x{height} is {width * height} pixels, over the limit of "
                    f"{settings.QUORUM_IMAGE_MAX_PIXELS}"
                )
            image.verify()
    except SourceProblem:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise SourceProblem(f"not an image Pillow can read ({exc.__class__.__name__})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise SourceProblem(f"a damaged image ({exc})") from None
    if image_format not in IMAGE_FORMATS:
        raise SourceProblem(
            f"{image_format} images are not accepted; use {', '.join(IMAGE_FORMATS)}"
        )
    return IMAGE_FORMATS[image_format]


def video_suffix(name: str) -> str:
    """The video suffix of an uploaded file's name ("" when it is not a video's)."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else ""


def check_video_file(path: Path, *, max_frames: int) -> str:
    """Check a video with PyAV (it decodes, within the frame limit); return its extension."""
    problem = video_probe(path=path, max_frames=max_frames)
    if problem:
        raise SourceProblem(problem)
    return path.suffix.lstrip(".")
