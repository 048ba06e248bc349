"""manage.py load_demo: a demo manager, three labelers, a team and four jobs ready to label
(text classification, image classification, bounding boxes, video object tracking).

Idempotent: run it again and it resets the demo passwords and leaves existing jobs alone.
"""

import io
import json
import random
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from labeling.data.services.imports import import_run, import_stage_manifest
from labeling.models import Job, Role, Team
from labeling.services.jobs import job_create, job_start
from labeling.services.users import user_create
from labeling.workforces.services.teams import team_create

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo"
MANAGER = ("manager", "quorum-manager")
LABELERS = [("alice", "quorum-alice"), ("bob", "quorum-bob"), ("carol", "quorum-carol")]
SHAPES = ["circle", "square", "triangle"]
SHAPE_IMAGES = 12
BOX_IMAGES = 8
CLIPS, CLIP_FRAMES = 3, 24


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int], color) -> None:
    x, y, size = box
    if shape == "circle":
        draw.ellipse((x, y, x + size, y + size), fill=color)
    elif shape == "square":
        draw.rectangle((x, y, x + size, y + size), fill=color)
    else:
        draw.polygon([(x, y + size), (x + size, y + size), (x + size // 2, y)], fill=color)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _shape_png(shape: str, seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), tuple(rng.randint(200, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    color = tuple(rng.randint(0, 150) for _ in range(3))
    _draw(draw, shape, (rng.randint(40, 180), rng.randint(30, 100), rng.randint(60, 110)), color)
    return _png(image)


def _boxes_png(seed: int) -> tuple[bytes, list[dict]]:
    """A picture of two or three shapes apart from each other, and where each one is."""
    rng = random.Random(1000 + seed)
    image = Image.new("RGB", (480, 320), tuple(rng.randint(210, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    drawn: list[dict] = []
    for column in rng.sample(range(3), rng.randint(2, 3)):
        shape, size = rng.choice(SHAPES), rng.randint(50, 100)
        x = column * 160 + rng.randint(5, 155 - size)
        y = rng.randint(10, 310 - size)
        _draw(draw, shape, (x, y, size), tuple(rng.randint(0, 150) for _ in range(3)))
        drawn.append({"shape": shape, "left": x, "top": y, "size": size})
    return _png(image), drawn


def _clip_frames(seed: int) -> list[bytes]:
    """A short clip: a shape crossing the frame while another one drifts down."""
    rng = random.Random(2000 + seed)
    background = tuple(rng.randint(200, 255) for _ in range(3))
    first, second = rng.sample(SHAPES, 2)
    colors = [tuple(rng.randint(0, 150) for _ in range(3)) for _ in range(2)]
    frames = []
    for t in range(CLIP_FRAMES):
        image = Image.new("RGB", (320, 240), background)
        draw = ImageDraw.Draw(image)
        _draw(draw, first, (10 + t * 9, 40, 60), colors[0])
        _draw(draw, second, (220, 20 + t * 6, 50), colors[1])
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85)
        frames.append(out.getvalue())
    return frames


def _media_folder(*parts: str) -> Path:
    folder = Path(settings.MEDIA_ROOT).joinpath("demo", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shape_lines() -> list[dict]:
    folder, lines = _media_folder(), []
    for index in range(SHAPE_IMAGES):
        shape = SHAPES[index % len(SHAPES)]
        (folder / f"shape-{index:02d}.png").write_bytes(_shape_png(shape, index))
        lines.append({"source-ref": f"demo/shape-{index:02d}.png", "drawn": shape})
    return lines


def _box_lines() -> list[dict]:
    folder, lines = _media_folder(), []
    for index in range(BOX_IMAGES):
        png, drawn = _boxes_png(index)
        (folder / f"boxes-{index:02d}.png").write_bytes(png)
        lines.append({"source-ref": f"demo/boxes-{index:02d}.png", "drawn": drawn})
    return lines


def _clip_lines() -> list[dict]:
    lines = []
    for clip in range(CLIPS):
        folder, refs = _media_folder(f"clip-{clip}"), []
        for index, frame in enumerate(_clip_frames(clip)):
            (folder / f"{index:06d}.jpg").write_bytes(frame)
            refs.append(f"demo/clip-{clip}/{index:06d}.jpg")
        lines.append({"frames": refs})
    return lines


class Command(BaseCommand):
    help = "Load the demo: users with printed passwords, a team and four jobs to label."

    def handle(self, *args, **options):
        manager, _, _ = user_create(
            username=MANAGER[0], role=Role.MANAGER, password=MANAGER[1], reset_password=True
        )
        team = Team.objects.filter(name="Demo team").first() or team_create(name="Demo team")
        for name, password in LABELERS:
            user_create(
                username=name, role=Role.LABELER, team=team, password=password, reset_password=True
            )

        shapes = ["Circle", "Square", "Triangle"]
        self._job(
            manager,
            team,
            lambda: [
                json.loads(line)
                for line in (DEMO_DIR / "reviews.jsonl").read_text().splitlines()
                if line.strip()
            ],
            name="demo-product-reviews",
            task_type="text-classification",
            labels=["Positive", "Negative", "Neutral"],
            workers_per_item=3,
            short_instructions="Is the customer happy with the product? Pick one sentiment.",
            full_instructions=(
                "Read the whole review. Positive: the customer is pleased. Negative: the "
                "customer is unhappy or the product failed. Neutral: facts only, or no clear "
                "feeling either way. Judge the review, not the product."
            ),
            examples=[
                {
                    "kind": "good",
                    "source": "Love it, works perfectly.",
                    "label": "Positive",
                    "explanation": "A clear expression of satisfaction.",
                },
                {
                    "kind": "bad",
                    "source": "Arrived on Tuesday.",
                    "label": "Positive",
                    "explanation": "Only a fact: this is Neutral.",
                },
            ],
            task_time_limit_seconds=600,
        )
        self._job(
            manager,
            team,
            _shape_lines,
            name="demo-shapes",
            task_type="image-classification",
            labels=shapes,
            workers_per_item=2,
            short_instructions="Which shape does the picture show?",
            full_instructions="Pick the shape of the large colored figure in the picture.",
        )
        self._job(
            manager,
            team,
            _box_lines,
            name="demo-shape-boxes",
            task_type="image-bounding-box",
            labels=shapes,
            workers_per_item=2,
            short_instructions="Draw a box around every shape and pick its kind.",
            full_instructions=(
                "Draw one tight box around each shape, touching its outermost points, and "
                "give it the shape's name. Leave the background out."
            ),
        )
        self._job(
            manager,
            team,
            _clip_lines,
            name="demo-moving-shapes",
            task_type="video-object-tracking",
            labels=shapes,
            workers_per_item=1,
            short_instructions="Track each shape through the clip.",
            full_instructions=(
                "Box each shape on the first frame, then move its box on a few later frames "
                "(keyframes); the frames between follow on their own. One track per shape."
            ),
            task_time_limit_seconds=1800,
        )

        self.stdout.write("Demo loaded. Sign in at /login/ with:")
        self.stdout.write(f"  manager  {MANAGER[0]} / {MANAGER[1]}  (console: /console/)")
        for name, password in LABELERS:
            self.stdout.write(f"  labeler  {name} / {password}  (portal: /work/)")

    def _job(self, manager, team, lines: Callable[[], list[dict]], **fields) -> None:
        """Create, fill and start the demo job named ``fields["name"]`` unless it exists;
        ``lines`` writes its media and gives its input lines."""
        if Job.objects.filter(name=fields["name"]).exists():
            return
        job = job_create(created_by=manager, team=team, **fields)
        body = "".join(json.dumps(line) + "\n" for line in lines())
        self._import(job, manager, body.encode())
        job_start(job=job, by=manager)

    def _import(self, job, manager, body: bytes) -> None:
        run = import_stage_manifest(
            job=job, created_by=manager, chunks=[body], original_name="demo"
        )
        run = import_run(import_id=run.pk)  # run it here: the worker may not be up yet
        job.refresh_from_db()
        if run.status != "succeeded":
            raise RuntimeError(f"the demo import failed: {run.message} {run.errors}")
