"""Importing items: stage the upload in the request, check and store it in a Celery task.

A run reads its file twice. The first pass checks every line (or image) and reports each bad
one with its line number and reason; if any is bad, nothing is stored. The second pass
stores every item in one transaction (``COPY`` on PostgreSQL), so a failed import leaves
nothing half-written. Progress goes to the cache, where the web process reads it.

A run is held by its worker under a lease (``import_leases``). A worker killed while storing
leaves nothing stored (its transaction dies with it), so running the import again from the
start is safe; the sweeper does so, or fails the run after QUORUM_IMPORT_MAX_ATTEMPTS.
"""

import json
import logging
import mimetypes
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from labeling.after_commit import run_safely
from labeling.data.services.continuation import (
    CarriedLabel,
    carried_label,
    carried_labels_store,
    without_label,
)
from labeling.data.services.import_leases import (
    ImportLease,
    LeaseLost,
    import_lease_claim,
    pause_for_fault_tests,
)
from labeling.data.services.import_lifecycle import (
    import_ended,
    import_enqueue,
    import_recover,
    import_resend_at,
    progress_key,
)
from labeling.data.services.import_reader import (
    BAD_UTF8,
    ManifestProblem,
    is_json_array,
    json_array_elements,
    json_lines,
    nesting_problem,
)
from labeling.data.services.media_files import (
    check_image_file,
    check_local_image_ref,
    check_video_file,
    video_suffix,
)
from labeling.data.services.video_frames import VIDEO_SUFFIXES, video_extract_frames
from labeling.data.storage import (
    storage_delete,
    storage_join,
    storage_s3_enabled,
    storage_write,
)
from labeling.errors import Conflict, ValidationFailed
from labeling.events import items_stored
from labeling.models import ImportKind, ImportRun, Job, User
from labeling.states import ImportStatus, JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem
from labeling.task_types.video import MAX_FRAMES

logger = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 100
PROGRESS_EVERY_LINES = 20_000
INSERT_BATCH_SIZE = 5_000
ANALYZE_AFTER_ITEMS = 10_000
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
            lease_expires_at=import_resend_at(timezone.now()),
        )
        import_enqueue(run)
    return run


def import_stage_images(*, job: Job, created_by: User, files: list[Any]) -> ImportRun:
    """Write uploaded image files to a staging folder and queue their check and import."""
    _check_job_accepts_items(job)
    if get_task_type(job.task_type).media != "image":
        raise ValidationFailed(f"a {job.task_type} job takes no images; import a manifest")
    return _stage_files(
        job, created_by, files, ImportKind.IMAGES, settings.QUORUM_IMAGE_MAX_BYTES, "image"
    )


def import_stage_videos(*, job: Job, created_by: User, files: list[Any]) -> ImportRun:
    """Write uploaded video files to a staging folder and queue their check, the extraction
    of their frames and their import (one item per video)."""
    _check_job_accepts_items(job)
    if get_task_type(job.task_type).media != "video":
        raise ValidationFailed(f"a {job.task_type} job takes no videos")
    for upload in files:
        if not video_suffix(upload.name):
            raise ValidationFailed(
                f"{upload.name}: not a video file; send {', '.join(VIDEO_SUFFIXES)}",
                code="unsupported_media_type",
                details={"file": upload.name},
            )
    return _stage_files(
        job, created_by, files, ImportKind.VIDEOS, settings.QUORUM_IMPORT_MAX_BYTES, "video"
    )


def _staged_file(folder: Path, position: int, name: str, kind: str) -> Path:
    """A staged upload: its position, and a video's suffix (PyAV reads the name too)."""
    suffix = video_suffix(name) if kind == ImportKind.VIDEOS else ""
    return folder / f"{position:06d}{suffix}"


def _stage_files(
    job: Job, created_by: User, files: list[Any], kind: str, max_bytes: int, noun: str
) -> ImportRun:
    if not files:
        raise ValidationFailed("no files were uploaded", code="empty")
    folder = _staging_dir() / uuid.uuid4().hex
    folder.mkdir()
    names = []
    total = 0
    try:
        for position, upload in enumerate(files, start=1):
            if upload.size > max_bytes:
                raise ValidationFailed(
                    f"{upload.name}: {upload.size} bytes is over the limit of {max_bytes}",
                    code="too_large",
                    details={"file": upload.name},
                )
            staged = _staged_file(folder, position, upload.name, kind)
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
            kind=kind,
            staged_path=str(folder),
            original_name=f"{len(names)} {noun}(s)",
            total_bytes=total,
            created_by=created_by,
            lease_expires_at=import_resend_at(timezone.now()),
        )
        import_enqueue(run)
    return run


# --- The run --------------------------------------------------------------------------------


def import_run(*, import_id: int) -> ImportRun | None:
    """Check and store one staged import. Idempotent: a finished run, or one another worker
    holds, is left alone; one whose worker was lost is queued again (or failed) first."""
    import_recover(import_id=import_id)  # a message redelivered after its worker died
    lease = import_lease_claim(import_id=import_id)
    run = ImportRun.objects.select_related("job").filter(pk=import_id).first()
    if run is None:
        logger.warning("import %s does not exist (deleted?); nothing to run", import_id)
        return None
    if lease is None:
        return run
    try:
        with lease.heartbeat():
            _check_job_accepts_items(run.job)
            if run.kind == ImportKind.MANIFEST:
                _run_manifest(run, lease)
            else:
                _run_files(run, lease)
    except LeaseLost:
        logger.warning("import %s lost its lease; another worker runs it", import_id)
        run.refresh_from_db()
    except (ImportProblem, Conflict) as exc:
        _finish_failed(run, lease, str(exc))
    except Exception:
        logger.exception("import %s failed", import_id)
        _finish_failed(run, lease, "the import failed on the server; see its log")
    return run


def _finish_failed(run: ImportRun, lease: ImportLease, message: str) -> None:
    try:
        _finish(run, ImportStatus.FAILED, lease=lease, message=message)
    except LeaseLost:
        logger.warning("import %s lost its lease; its failure is not recorded", run.pk)
        run.refresh_from_db()


def _finish(run: ImportRun, status: str, *, lease: ImportLease, message: str = "") -> None:
    """End the run, if this worker's lease still holds it (else raise LeaseLost)."""
    if status == ImportStatus.SUCCEEDED and run.attempts > 1:
        message = message or f"stored on attempt {run.attempts}, after a worker was lost"
    run.status = status
    run.message = message[:500]
    run.finished_at = timezone.now()
    ended = lease.held().update(
        status=status,
        message=run.message,
        finished_at=run.finished_at,
        errors=run.errors,
        error_count=run.error_count,
        lines_read=run.lines_read,
        items_created=run.items_created,
        processed_bytes=run.processed_bytes,
        lease_token="",
        lease_expires_at=None,
        phase="",
    )
    if not ended:
        raise LeaseLost(f"import {run.pk} was taken over before it ended")
    run.lease_token, run.lease_expires_at, run.phase = "", None, ""
    import_ended(run, status)


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
    """Yield (line number, bytes read so far, text) of each item of a staged manifest.

    A file whose first character is ``[`` is a JSON array, read as a stream: element N is
    "line" N. Raises ManifestProblem where an array cannot be read on.
    """
    with path.open("rb") as handle:
        if is_json_array(handle):
            yield from json_array_elements(handle)
        else:
            yield from json_lines(handle)


def _check_line(text: str, task_type, reserved: tuple[str, str], carry=None) -> str | None:
    if text == BAD_UTF8:
        return "the line is not valid UTF-8"
    too_deep = nesting_problem(text)  # before parsing: the parser would recurse that deep
    if too_deep:
        return too_deep
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(line, dict):
        return f"a line must be a JSON object, not {type(line).__name__}"
    if carry is not None and any(key in line for key in reserved):
        try:  # issue 16: the job's own label on the line continues the job (continuation.py)
            carry(line)
        except ValueError as exc:
            return str(exc)
    for key in reserved if carry is None else ():
        if key in line:
            return f'the line already has a "{key}" key, which this job writes'
    try:
        task_type.check_source(line)
        if task_type.media == "image":
            check_local_image_ref(line["source-ref"])
    except SourceProblem as exc:
        return str(exc)
    return None


def _run_manifest(run: ImportRun, lease: ImportLease) -> None:
    job = run.job
    task_type = get_task_type(job.task_type)
    # The keys the export writes (segmentation's is "<name>-ref", the managed service's).
    written = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
    reserved = (written, f"{written}-metadata")
    labels = list(job.labels)

    def carry(line: dict[str, Any]) -> CarriedLabel | None:
        return carried_label(line, task_type=task_type, attribute=written, labels=labels)

    path = Path(run.staged_path)
    if not path.is_file():
        raise ImportProblem("the staged file is gone; import the file again")
    count = 0
    try:
        for number, read, text in _manifest_lines(path):
            problem = _check_line(text, task_type, reserved, carry)
            if problem:
                _record_error(run, {"line": number}, problem)
            count += 1
            if count % PROGRESS_EVERY_LINES == 0:
                lease.check()
                _report(run, "checking", read, run.total_bytes)
    except ManifestProblem as exc:  # an array that cannot be read past this element
        _record_error(run, {"line": exc.number}, exc.reason)
        count = max(count, exc.number)
    run.lines_read = count
    run.processed_bytes = run.total_bytes
    if run.error_count:
        raise ImportProblem(
            f"{run.error_count} bad line(s) of {count}; nothing was imported — fix them and "
            "import again"
        )
    if count == 0:
        raise ImportProblem("the manifest has no items")
    lease.enter_phase("storing")
    _report(run, "storing", 0, count)
    carried: dict[int, CarriedLabel] = {}
    texts: Iterable[str] = (
        _carried_off(text, position, carried, carry, written)
        for position, (_, _, text) in enumerate(_manifest_lines(path))
    )
    prepare = getattr(task_type, "prepare_source", None)
    if prepare is not None:  # e.g. a video's frames are extracted here, in the worker
        texts = (_prepared(prepare, text) for text in texts)
    with transaction.atomic():
        stored = _insert_items(run, _watched(texts, lease, count), count)
        Job.objects.filter(pk=job.pk).update(items_total=F("items_total") + stored)
        carried_labels_store(job_id=job.pk, import_run_id=run.pk, carried=carried)
        items_stored.send(sender=None, job_id=job.pk, import_id=run.pk)  # issue 16: hooks
        run.items_created = stored
        _finish(run, ImportStatus.SUCCEEDED, lease=lease)
    _refresh_item_statistics(stored)


def _carried_off(text: str, position: int, carried: dict, carry, attribute: str) -> str:
    """The line to store: a line carrying the job's own label is stored without it, and the
    label is kept in ``carried`` to store once the items are (issue 16: continuation)."""
    if attribute not in text:  # a fast path: most lines carry nothing
        return text
    label = carry(json.loads(text))
    if label is None:
        return text
    carried[position] = label
    return without_label(text, attribute)


def _watched(texts: Iterable[str], lease: ImportLease, total: int) -> Iterator[str]:
    """The texts, stopping once the lease is lost (and pausing midway in fault tests)."""
    for number, text in enumerate(texts, start=1):
        if number % PROGRESS_EVERY_LINES == 0:
            lease.check()
        if number == total // 2 + 1:
            pause_for_fault_tests()
        yield text


def _prepared(prepare, text: str) -> str:
    line = json.loads(text)
    ready = prepare(line)
    return text if ready is line else json.dumps(ready, ensure_ascii=False, separators=(",", ":"))


def _check_staged(run: ImportRun, path: Path) -> str:
    """Check one staged upload; return the extension it is stored with (or SourceProblem)."""
    if run.kind == ImportKind.VIDEOS:
        return check_video_file(path, max_frames=MAX_FRAMES)
    return check_image_file(path)


def _run_files(run: ImportRun, lease: ImportLease) -> None:
    """Uploaded image or video files: check each (a bad one is reported by its name), then
    place them in the media folder, cut each video into frames, and store one item each."""
    folder = Path(run.staged_path)
    if not (folder / "names.json").is_file():
        raise ImportProblem("the staged files are gone; upload them again")
    names = json.loads((folder / "names.json").read_text())
    staged = [_staged_file(folder, n, name, run.kind) for n, name in enumerate(names, start=1)]
    extensions = []
    for position, (name, path) in enumerate(zip(names, staged, strict=True), start=1):
        try:
            extensions.append(_check_staged(run, path))
        except SourceProblem as exc:
            _record_error(run, {"file": name, "line": position}, str(exc))
        _report(run, "checking", position, len(names))
        lease.check()
    run.lines_read = len(names)
    if run.error_count:
        raise ImportProblem(f"{run.error_count} bad file(s) of {len(names)}; nothing was imported")
    lease.enter_phase("storing")
    target = Path(settings.MEDIA_ROOT) / "jobs" / str(run.job_id)
    # With a media bucket, the images go to the object store, so every web machine serves them.
    # Videos stay on the local disk: their frames are cut from the local file.
    bucket = (
        settings.QUORUM_S3_MEDIA_BUCKET
        if storage_s3_enabled() and run.kind != ImportKind.VIDEOS
        else ""
    )
    if not bucket:
        target.mkdir(parents=True, exist_ok=True)
    moved: list[Path] = []
    uploaded: list[str] = []
    lines = []
    try:
        for position, (name, path, extension) in enumerate(
            zip(names, staged, extensions, strict=True), start=1
        ):
            # Named after the (random) staging folder, and linked, not moved: a run after a
            # lost worker finds its staged files and writes the same names again.
            final_name = f"{folder.name}-{position:06d}.{extension}"
            if bucket:
                ref = storage_join(
                    f"s3://{bucket}",
                    settings.QUORUM_S3_MEDIA_PREFIX,
                    f"jobs/{run.job_id}/{final_name}",
                )
                with path.open("rb") as staged_file:
                    storage_write(
                        ref,
                        iter(lambda staged_file=staged_file: staged_file.read(1 << 20), b""),
                        mimetypes.guess_type(final_name)[0] or "application/octet-stream",
                    )
                uploaded.append(ref)
            else:
                final = target / final_name
                _place(path, final)
                moved.append(final)
                ref = final.relative_to(settings.MEDIA_ROOT).as_posix()
            line: dict[str, Any] = {"source-ref": ref, "file-name": name}
            if run.kind == ImportKind.VIDEOS:
                _report(run, "extracting frames", position - 1, len(names))
                line["frames"] = video_extract_frames(ref=ref, max_frames=MAX_FRAMES)
                moved.append(Path(settings.MEDIA_ROOT) / Path(line["frames"][0]).parent)
                lease.check()
            lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        with transaction.atomic():
            stored = _insert_items(run, _watched(lines, lease, len(lines)), len(lines))
            Job.objects.filter(pk=run.job_id).update(items_total=F("items_total") + stored)
            items_stored.send(sender=None, job_id=run.job_id, import_id=run.pk)  # issue 16
            run.items_created = stored
            _finish(run, ImportStatus.SUCCEEDED, lease=lease)
        _refresh_item_statistics(stored)
    except LeaseLost:
        raise  # the worker that holds the run now uses the same files
    except BaseException:
        for placed in moved:
            if placed.is_dir():
                shutil.rmtree(placed, ignore_errors=True)
            else:
                placed.unlink(missing_ok=True)
        for ref in uploaded:
            run_safely(lambda ref=ref: storage_delete(ref), what=f"removing {ref}")
        raise


def _place(staged: Path, final: Path) -> None:
    final.unlink(missing_ok=True)
    try:
        os.link(staged, final)
    except OSError:  # another file system: copy
        shutil.copyfile(staged, final)


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


def item_line_problem(*, job: Job, line: dict[str, Any]) -> str | None:
    """What is wrong with one input line for ``job`` (None when nothing): the import's own
    checks, for a caller that adds items one request at a time (issue 16's streaming jobs)."""
    task_type = get_task_type(job.task_type)
    written = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    return _check_line(text, task_type, (written, f"{written}-metadata"))
