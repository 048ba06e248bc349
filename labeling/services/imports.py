"""Importing items: stage the upload in the request, check and store it in a Celery task.

A run reads its file twice. The first pass checks every line (or image) and reports each bad
one with its line number and reason; if any is bad, nothing is stored. The second pass
stores every item in one transaction (``COPY`` on PostgreSQL), so a failed import leaves
nothing half-written. Progress goes to the cache, where the web process reads it.
"""

import json
import logging
import shutil
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from labeling.after_commit import on_commit_safely, run_safely
from labeling.errors import Conflict, ValidationFailed
from labeling.events import import_finished, publish_on_commit
from labeling.models import ImportKind, ImportRun, Job, User
from labeling.states import ImportStatus, JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem

logger = logging.getLogger(__name__)

IMPORT_RUN_TASK = "labeling.import_run"
MAX_ERRORS_KEPT = 100
PROGRESS_EVERY_LINES = 20_000
INSERT_BATCH_SIZE = 5_000
ANALYZE_AFTER_ITEMS = 10_000
STALE_RUN_AFTER = timedelta(minutes=30)
IMAGE_FORMATS = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
}
CHUNK_BYTES = 1 << 20


class ImportProblem(Exception):
    """Raised inside a run to fail it with a message (bad lines are collected, not raised)."""


def _staging_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_job_accepts_items(job: Job) -> None:
    if job.status not in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        raise Conflict(
            f"a {job.get_status_display().lower()} job takes no more items", code="job_closed"
        )


def progress_key(import_id: int) -> str:
    return f"import-progress:{import_id}"


def _enqueue(run: ImportRun) -> None:
    # By name: the task module imports this one, never the other way.
    # Never fails the upload: a run whose message was lost is sent again by the periodic sweep.
    on_commit_safely(
        current_app.signature(IMPORT_RUN_TASK, args=(run.pk,)).delay,
        what=f"enqueueing import {run.pk}",
    )


def import_stage_manifest(
    *, job: Job, created_by: User, chunks: Iterable[bytes], original_name: str = ""
) -> ImportRun:
    """Write an uploaded manifest (JSON Lines or a JSON array) to disk and queue its run."""
    _check_job_accepts_items(job)
    path = _staging_dir() / f"{uuid.uuid4().hex}.jsonl"
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > settings.QUORUM_IMPORT_MAX_BYTES:
                    raise ValidationFailed(
                        f"the manifest is larger than {settings.QUORUM_IMPORT_MAX_BYTES} bytes",
                        code="too_large",
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ValidationFailed("the manifest is empty", code="empty")
    with transaction.atomic():
        run = ImportRun.objects.create(
            job=job,
            kind=ImportKind.MANIFEST,
            staged_path=str(path),
            original_name=original_name[:255],
            total_bytes=size,
            created_by=created_by,
        )
        _enqueue(run)
    return run


def import_stage_images(*, job: Job, created_by: User, files: list[Any]) -> ImportRun:
    """Write uploaded image files to a staging folder and queue their check and import."""
    _check_job_accepts_items(job)
    if get_task_type(job.task_type).media != "image":
        raise ValidationFailed(f"a {job.task_type} job takes no images; import a manifest")
    if not files:
        raise ValidationFailed("no files were uploaded", code="empty")
    folder = _staging_dir() / uuid.uuid4().hex
    folder.mkdir()
    names = []
    total = 0
    try:
        for position, upload in enumerate(files, start=1):
            if upload.size > settings.QUORUM_IMAGE_MAX_BYTES:
                raise ValidationFailed(
                    f"{upload.name}: {upload.size} bytes is over the limit of "
                    f"{settings.QUORUM_IMAGE_MAX_BYTES}",
                    code="too_large",
                    details={"file": upload.name},
                )
            staged = folder / f"{position:06d}"
            with staged.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            total += upload.size
            names.append(upload.name)
        (folder / "names.json").write_text(json.dumps(names))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with transaction.atomic():
        run = ImportRun.objects.create(
            job=job,
            kind=ImportKind.IMAGES,
            staged_path=str(folder),
            original_name=f"{len(names)} image(s)",
            total_bytes=total,
            created_by=created_by,
        )
        _enqueue(run)
    return run


# --- The run --------------------------------------------------------------------------------


def import_run(*, import_id: int) -> ImportRun | None:
    """Check and store one staged import. Idempotent: a finished run is left alone."""
    now = timezone.now()
    claimed = ImportRun.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now
    ) or ImportRun.objects.filter(
        pk=import_id, status=ImportStatus.RUNNING, started_at__lt=now - STALE_RUN_AFTER
    ).update(started_at=now)
    run = ImportRun.objects.select_related("job").filter(pk=import_id).first()
    if run is None:
        logger.warning("import %s does not exist (deleted?); nothing to run", import_id)
        return None
    if not claimed:
        return run
    try:
        _check_job_accepts_items(run.job)
        if run.kind == ImportKind.MANIFEST:
            _run_manifest(run)
        else:
            _run_images(run)
    except (ImportProblem, Conflict) as exc:
        _finish(run, ImportStatus.FAILED, message=str(exc))
    except Exception:
        logger.exception("import %s failed", import_id)
        _finish(run, ImportStatus.FAILED, message="the import failed on the server; see its log")
    return run


def _finish(run: ImportRun, status: str, *, message: str = "") -> None:
    run.status = status
    run.message = message[:500]
    run.finished_at = timezone.now()
    run.save(
        update_fields=[
            "status",
            "message",
            "finished_at",
            "errors",
            "error_count",
            "lines_read",
            "items_created",
            "processed_bytes",
        ]
    )
    # Progress lives in the cache: a cache outage loses it, never the import's outcome.
    run_safely(
        lambda: cache.delete(progress_key(run.pk)), what=f"clearing import {run.pk}'s progress"
    )
    staged = Path(run.staged_path)
    if staged.is_dir():
        shutil.rmtree(staged, ignore_errors=True)
    else:
        staged.unlink(missing_ok=True)
    publish_on_commit(import_finished, job_id=run.job_id, import_id=run.pk, status=status)


def _report(run: ImportRun, phase: str, done: int, total: int) -> None:
    progress = {"phase": phase, "done": done, "total": total}
    run_safely(
        lambda: cache.set(progress_key(run.pk), progress, 3600),
        what=f"reporting import {run.pk}'s progress",
    )


def _record_error(run: ImportRun, where: dict[str, Any], reason: str) -> None:
    run.error_count += 1
    if len(run.errors) < MAX_ERRORS_KEPT:
        run.errors.append({**where, "reason": reason})


def _manifest_lines(path: Path) -> Iterator[tuple[int, int, str]]:
    """Yield (line number, bytes read so far, stripped text) of each non-blank line.

    A file whose first character is ``[`` is a JSON array: element N is "line" N.
    """
    with path.open("rb") as handle:
        head = handle.read(64).lstrip()
        handle.seek(0)
        if head.startswith(b"["):
            try:
                elements = json.load(handle)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ImportProblem(f"the body is not a valid JSON array: {exc}") from None
            for number, element in enumerate(elements, start=1):
                yield number, 0, json.dumps(element, ensure_ascii=False, separators=(",", ":"))
            return
        read = 0
        for number, raw in enumerate(handle, start=1):
            read += len(raw)
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                text = "\x00bad-utf8"
            if text:
                yield number, read, text


def _check_line(text: str, task_type, reserved: tuple[str, str]) -> str | None:
    if text == "\x00bad-utf8":
        return "the line is not valid UTF-8"
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(line, dict):
        return f"a line must be a JSON object, not {type(line).__name__}"
    for key in reserved:
        if key in line:
            return f'the line already has a "{key}" key, which this job writes'
    try:
        task_type.check_source(line)
        if task_type.media == "image":
            _check_local_image_ref(line["source-ref"])
    except SourceProblem as exc:
        return str(exc)
    return None


def _check_local_image_ref(ref: str) -> None:
    if "://" in ref:
        return  # a URL: the browser fetches it; nothing to check here
    path = Path(settings.MEDIA_ROOT) / ref
    if not path.is_file():
        raise SourceProblem(f'"source-ref" {ref!r} is not a file in the media folder')
    _check_image_file(path)


def _check_image_file(path: Path) -> str:
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


def _run_manifest(run: ImportRun) -> None:
    job = run.job
    task_type = get_task_type(job.task_type)
    # The keys the export writes (segmentation's is "<name>-ref", the managed service's).
    written = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
    reserved = (written, f"{written}-metadata")
    path = Path(run.staged_path)
    count = 0
    for number, read, text in _manifest_lines(path):
        problem = _check_line(text, task_type, reserved)
        if problem:
            _record_error(run, {"line": number}, problem)
        count += 1
        if count % PROGRESS_EVERY_LINES == 0:
            _report(run, "checking", read, run.total_bytes)
    run.lines_read = count
    run.processed_bytes = run.total_bytes
    if run.error_count:
        raise ImportProblem(
            f"{run.error_count} bad line(s) of {count}; nothing was imported — fix them and "
            "import again"
        )
    if count == 0:
        raise ImportProblem("the manifest has no items")
    _report(run, "storing", 0, count)
    texts: Iterable[str] = (text for _, _, text in _manifest_lines(path))
    prepare = getattr(task_type, "prepare_source", None)
    if prepare is not None:  # e.g. a video's frames are extracted here, in the worker
        texts = (_prepared(prepare, text) for text in texts)
    with transaction.atomic():
        stored = _insert_items(run, texts, count)
        Job.objects.filter(pk=job.pk).update(items_total=F("items_total") + stored)
        run.items_created = stored
        _finish(run, ImportStatus.SUCCEEDED)
    _refresh_item_statistics(stored)


def _prepared(prepare, text: str) -> str:
    line = json.loads(text)
    ready = prepare(line)
    return text if ready is line else json.dumps(ready, ensure_ascii=False, separators=(",", ":"))


def _run_images(run: ImportRun) -> None:
    folder = Path(run.staged_path)
    names = json.loads((folder / "names.json").read_text())
    extensions = []
    for position, name in enumerate(names, start=1):
        try:
            extensions.append(_check_image_file(folder / f"{position:06d}"))
        except SourceProblem as exc:
            _record_error(run, {"file": name, "line": position}, str(exc))
        _report(run, "checking", position, len(names))
    run.lines_read = len(names)
    if run.error_count:
        raise ImportProblem(f"{run.error_count} bad file(s) of {len(names)}; nothing was imported")
    target = Path(settings.MEDIA_ROOT) / "jobs" / str(run.job_id)
    target.mkdir(parents=True, exist_ok=True)
    moved: list[Path] = []
    lines = []
    try:
        for position, (name, extension) in enumerate(zip(names, extensions, strict=True), start=1):
            final = target / f"{uuid.uuid4().hex}.{extension}"
            shutil.move(folder / f"{position:06d}", final)
            moved.append(final)
            relative = final.relative_to(settings.MEDIA_ROOT).as_posix()
            lines.append(
                json.dumps(
                    {"source-ref": relative, "file-name": name},
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            )
        with transaction.atomic():
            stored = _insert_items(run, lines, len(lines))
            Job.objects.filter(pk=run.job_id).update(items_total=F("items_total") + stored)
            run.items_created = stored
            _finish(run, ImportStatus.SUCCEEDED)
        _refresh_item_statistics(stored)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise


def _refresh_item_statistics(stored: int) -> None:
    """After a large import, let PostgreSQL's planner see the new rows now.

    Autovacuum would get there later, or never where it is off; until then the planner
    guesses from stale figures. ANALYZE samples a fixed number of rows: about a second at
    most, in the worker, after the items are committed.
    """
    if connection.vendor == "postgresql" and stored >= ANALYZE_AFTER_ITEMS:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_item")


def _insert_items(run: ImportRun, texts: Iterable[str], total: int) -> int:
    """Insert one item per JSON text, in order, inside the caller's transaction."""
    columns = "(job_id, data, priority, status, taken, answers, import_run_id)"
    stored = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_sql = f"COPY labeling_item {columns} FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for text in texts:
                    copy.write_row((run.job_id, text, 0, "open", 0, 0, run.pk))
                    stored += 1
                    if stored % PROGRESS_EVERY_LINES == 0:
                        _report(run, "storing", stored, total)
        return stored
    sql = f"INSERT INTO labeling_item {columns} VALUES (%s, %s, 0, 'open', 0, 0, %s)"
    batch: list[tuple[int, str, int]] = []
    with connection.cursor() as cursor:
        for text in texts:
            batch.append((run.job_id, text, run.pk))
            if len(batch) == INSERT_BATCH_SIZE:
                cursor.executemany(sql, batch)
                stored += len(batch)
                batch.clear()
                if stored % PROGRESS_EVERY_LINES == 0:
                    _report(run, "storing", stored, total)
        if batch:
            cursor.executemany(sql, batch)
            stored += len(batch)
    return stored
