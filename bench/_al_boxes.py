"""The box and mask variant of bench/active_learning.py (issue 19): rendered shapes on noise
(``active_learning.synthetic_shapes``: rectangles, ellipses, triangles, 1 to 3 per image,
known boxes and label maps), simulated humans answering the truth through the labeling
services, rounds run eagerly as a worker runs them.

Reports the human share, the mean IoU against the truth of the auto-labels and of all final
labels, and an audit: as soon as a round has auto-labeled and the job is still open, a random
sample of 100 auto-labels (all, when fewer) goes back to the (truthful) simulated humans via
``audit_start``; its measured mean IoU and bound are read from the Audit row, against the
promised target.
"""

import base64
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np

SIZE = 64
COLORS = ("#e6194b", "#3cb44b", "#4363d8")
DEFAULT_ITEMS = 1500
AUDIT_SAMPLE = 100


def render(count: int, seed: int, media: Path) -> tuple[list[dict], list[str]]:
    from PIL import Image

    from active_learning.synthetic_shapes import SHAPE_CLASSES, render_shapes

    rng = np.random.default_rng(seed)
    folder = media / "shapes"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        image = render_shapes(rng, size=SIZE)
        Image.fromarray(image.pixels).save(folder / f"{index:06d}.png", compress_level=1)
        Image.fromarray(image.label_map).save(folder / f"{index:06d}-truth.png")
        lines.append({"source-ref": f"shapes/{index:06d}.png", "truth": image.boxes})
    return lines, list(SHAPE_CLASSES)


def _box_answer(boxes: list, classes: list[str]) -> dict:
    drawn = [
        {"label": classes[c], "left": x, "top": y, "width": w, "height": h}
        for c, x, y, w, h in boxes
    ]
    size = {"width": SIZE, "height": SIZE}
    return {"annotatedResult": {"boundingBoxes": drawn, "inputImageProperties": size}}


def _mask_answer(truth_map: np.ndarray, classes: list[str]) -> dict:
    from PIL import Image

    rgb = np.full((SIZE, SIZE, 3), 255, np.uint8)
    for k, color in enumerate(COLORS[: len(classes)]):
        rgb[truth_map == k + 1] = [int(color[j : j + 2], 16) for j in (1, 3, 5)]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": SIZE, "height": SIZE},
            "labelMappings": {c: {"color": COLORS[k]} for k, c in enumerate(classes)},
            "labeledImage": {"pngImageData": base64.b64encode(buffer.getvalue()).decode()},
        }
    }


def run_shapes(args, setup_django, out: Path, record_row) -> None:
    masks = args.dataset == "shape-masks"
    run_dir = out / f"{args.dataset}-{time.strftime('%Y%m%dT%H%M%S')}"
    run_dir.mkdir(parents=True)
    try:
        setup_django(run_dir, args.threads, None)
        if args.cnn_samples:
            from django.conf import settings

            settings.ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN = args.cnn_samples
        lines, classes = render(args.limit or DEFAULT_ITEMS, args.seed, run_dir / "media")
        loop = _run(args, lines, classes, masks, run_dir / "media")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    record_row(args, loop, len(lines))


def _run(args, lines: list[dict], classes: list[str], masks: bool, media: Path) -> dict:
    from PIL import Image

    from active_learning.models import Audit, ModelArtifact, TrainingRound
    from active_learning.services.audits import audit_evaluate, audit_start
    from active_learning.services.settings import auto_labeling_enable
    from active_learning.shapespace import mean_iou_target
    from labeling.consolidation.masks import mask_iou
    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.models import ConsolidatedLabel, Item, Role
    from labeling.services.annotations import annotation_submit
    from labeling.services.assignments import assignment_claim
    from labeling.services.jobs import job_create, job_start
    from labeling.services.users import user_create
    from labeling.states import JobStatus
    from labeling.task_types.auto_labeling import BoxesTarget
    from labeling.task_types.image_segmentation import load_label_map
    from labeling.workforces.services.teams import team_create

    task_type = "image-semantic-segmentation" if masks else "image-bounding-box"
    manager, _, _ = user_create(username="bench-pm", role=Role.MANAGER, password=None)
    team = team_create(name="bench")
    human, _, _ = user_create(username="bench-human", role=Role.LABELER, team=team, password=None)
    job = job_create(
        created_by=manager,
        name="bench",
        task_type=task_type,
        labels=classes,
        team=team,
        task_time_limit_seconds=8 * 3600,
    )
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    run = import_run(import_id=import_stage_manifest(job=job, created_by=manager, chunks=[body]).pk)
    assert run.status == "succeeded", run.errors
    job.refresh_from_db()
    job = job_start(job=job, by=manager)
    config = auto_labeling_enable(
        job=job,
        by=manager,
        seed=args.seed,
        target_mean_iou=args.target_iou,
        validation_size=args.validation_size,
        round_every=args.round_every,
        round_growth=args.round_growth,
        min_training_labels=args.first_round,
        human_budget=args.budget,
        validation_refill=bool(args.refill),
    )
    target = mean_iou_target(task_type, config.target_mean_iou)
    data = {
        item_id: json.loads(text)
        for item_id, text in Item.objects.filter(job=job).values_list("pk", "data")
    }

    def truth_map(item_id: int) -> np.ndarray:
        ref = data[item_id]["source-ref"].replace(".png", "-truth.png")
        return np.asarray(Image.open(media / ref))

    def truth_value(item_id: int) -> dict:
        boxes = [
            {"label": classes[c], "class_id": c, "left": x, "top": y, "width": w, "height": h}
            for c, x, y, w, h in data[item_id]["truth"]
        ]
        return {"image_size": {"width": SIZE, "height": SIZE}, "boxes": boxes}

    def iou_to_truth(item_id: int, value: dict) -> float:
        if masks:
            return mask_iou(load_label_map(value["index_ref"]), truth_map(item_id), len(classes))
        return BoxesTarget().score(value, truth_value(item_id))

    started = time.perf_counter()
    answered, audit = 0, None
    while True:
        lease = assignment_claim(job=job, worker=human)
        if lease is None:
            break
        item_id = lease.item_id
        answer = (
            _mask_answer(truth_map(item_id), classes)
            if masks
            else _box_answer(data[item_id]["truth"], classes)
        )
        annotation_submit(assignment_id=lease.pk, worker=human, answer=answer)
        answered += 1
        if (
            audit is None
            and ConsolidatedLabel.objects.filter(job=job, human_annotated=False).exists()
        ):
            job.refresh_from_db()
            if job.status == JobStatus.IN_PROGRESS:
                audit = audit_start(job=job, by=manager, sample_size=AUDIT_SAMPLE, seed=args.seed)
    wall = time.perf_counter() - started
    if audit is not None:
        audit = audit_evaluate(audit_id=audit.pk)
        audit = Audit.objects.get(pk=audit.pk)

    final = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "value"))
    machine = set(
        ConsolidatedLabel.objects.filter(job=job, human_annotated=False).values_list(
            "item_id", flat=True
        )
    )
    ious = {item_id: iou_to_truth(item_id, value) for item_id, value in final.items()}
    auto_ious = [ious[i] for i in machine]
    rounds = list(TrainingRound.objects.filter(job=job).order_by("number"))
    artifacts = {a.pk: a for a in ModelArtifact.objects.filter(job=job)}
    total = len(lines)
    return {
        "task_type": task_type,
        "items": total,
        "target_mean_iou": target,
        "human_labels": answered,
        "human_share": round(answered / total, 4),
        "auto_labels": len(machine),
        "unlabeled": total - len(final),
        "mean_iou_all_final_labels": round(float(np.mean(list(ious.values()))), 4),
        "mean_iou_auto_labels": round(float(np.mean(auto_ious)), 4) if auto_ious else None,
        "auto_labels_below_target": sum(v < target for v in auto_ious),
        "audit": None
        if audit is None
        else {
            "sample": audit.sample_size,
            "answered": audit.answered,
            "status": audit.status,
            "measured_mean_iou": round(audit.measured_mean_iou or 0, 4),
            "lower_bound": None
            if audit.iou_lower_bound is None
            else round(audit.iou_lower_bound, 4),
            "promised": audit.promised_accuracy,
        },
        "rounds": sum(r.status == "done" for r in rounds),
        "wall_seconds": round(wall, 1),
        "training_seconds": round(sum(a.training_seconds for a in artifacts.values()), 1),
        "by_round": [
            {
                "round": r.number,
                "status": r.status,
                "human_labels": r.human_labels,
                "training_size": artifacts[r.artifact_id].training_size if r.artifact_id else 0,
                "validation_mean_iou": r.validation_accuracy,
                "threshold": r.threshold,
                "lower_bound": r.lower_bound,
                "auto_labeled": r.auto_labeled,
                "seconds": artifacts[r.artifact_id].training_seconds if r.artifact_id else None,
                "message": r.message,
            }
            for r in rounds
        ],
    }


def report(args, loop: dict, items: int) -> None:
    from _harness import command_line, git_commit, record  # the bench folder is on the path
    from _probes import machine

    figures = {
        "machine": machine(),
        "code": git_commit(),
        "dataset": args.dataset,
        "items": items,
        "validation_size": args.validation_size,
        "round_every": args.round_every,
        "round_growth": args.round_growth,
        "torch_threads": args.threads,
        "samples_seen": args.cnn_samples,
        "active_learning": loop,
    }
    audit = loop["audit"]
    summary = (
        f"{args.dataset} n={items}: human {loop['human_share']:.1%} "
        f"(validation {args.validation_size}), auto-labels {loop['auto_labels']} at mean IoU "
        f"{loop['mean_iou_auto_labels']} vs truth (target {loop['target_mean_iou']}), all "
        f"final labels {loop['mean_iou_all_final_labels']}"
    )
    if audit:
        summary += (
            f"; audit of {audit['answered']}: mean IoU {audit['measured_mean_iou']} "
            f"(bound {audit['lower_bound']}), promised {audit['promised']}, {audit['status']}"
        )
    summary += f"; {loop['rounds']} rounds, {loop['wall_seconds']} s"
    record(command_line(), summary, figures, write=not args.no_record)
