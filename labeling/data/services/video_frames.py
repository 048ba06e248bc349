"""Video files to frame images, with PyAV (the ``av`` package), during an import's run.

Frames are written as JPEG files under ``MEDIA_ROOT/frames/<random>/NNNNNN.jpg``; a video
with more frames than the limit is refused at the check, before anything is written.
"""

import uuid
from pathlib import Path

from django.conf import settings

try:
    import av
except ImportError:  # pragma: no cover - depends on the machine
    av = None

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi")
FRAMES_FOLDER = "frames"
JPEG_QUALITY = 90


def video_probe(*, path: Path, max_frames: int) -> str:
    """Why ``path`` cannot be imported as a video ("" when it can)."""
    if av is None:
        return "video files need PyAV (pip install av); import the frames as images instead"
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "the file has no video stream"
            stream = container.streams.video[0]
            frames = stream.frames or sum(1 for _ in container.decode(stream))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        return f"the video cannot be decoded ({exc.__class__.__name__})"
    if frames == 0:
        return "the video has no frames"
    if frames > max_frames:
        return f"the video has {frames} frames; at most {max_frames} are taken"
    return ""


def video_extract_frames(*, ref: str, max_frames: int) -> list[str]:
    """Decode the video at ``ref`` (in the media folder); return its frames' media paths."""
    if av is None:  # pragma: no cover - the check refused it already
        raise RuntimeError("PyAV is not installed")
    folder = Path(FRAMES_FOLDER) / uuid.uuid4().hex
    target = Path(settings.MEDIA_ROOT) / folder
    target.mkdir(parents=True)
    refs = []
    with av.open(str(Path(settings.MEDIA_ROOT) / ref)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for number, frame in enumerate(container.decode(stream)):
            if number >= max_frames:
                break
            name = f"{number:06d}.jpg"
            frame.to_image().save(target / name, format="JPEG", quality=JPEG_QUALITY)
            refs.append((folder / name).as_posix())
    return refs
