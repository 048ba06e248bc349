"""manage.py load_demo: a demo manager, three labelers, a team and two jobs ready to label.

Idempotent: run it again and it resets the demo passwords and leaves existing jobs alone.
"""

import io
import random
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


def _shape_png(shape: str, seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), tuple(rng.randint(200, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    color = tuple(rng.randint(0, 150) for _ in range(3))
    x, y, size = rng.randint(40, 180), rng.randint(30, 100), rng.randint(60, 110)
    if shape == "circle":
        draw.ellipse((x, y, x + size, y + size), fill=color)
    elif shape == "square":
        draw.rectangle((x, y, x + size, y + size), fill=color)
    else:
        draw.polygon([(x, y + size), (x + size, y + size), (x + size // 2, y)], fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = "Load the demo: users with printed passwords, a team, a text job and an image job."

    def handle(self, *args, **options):
        manager, _, _ = user_create(
            username=MANAGER[0], role=Role.MANAGER, password=MANAGER[1], reset_password=True
        )
        team = Team.objects.filter(name="Demo team").first() or team_create(name="Demo team")
        for name, password in LABELERS:
            user_create(
                username=name, role=Role.LABELER, team=team, password=password, reset_password=True
            )

        if not Job.objects.filter(name="demo-product-reviews").exists():
            job = job_create(
                created_by=manager,
                name="demo-product-reviews",
                task_type="text-classification",
                labels=["Positive", "Negative", "Neutral"],
                team=team,
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
            self._import(job, manager, (DEMO_DIR / "reviews.jsonl").read_bytes())
            job_start(job=job, by=manager)

        if not Job.objects.filter(name="demo-shapes").exists():
            job = job_create(
                created_by=manager,
                name="demo-shapes",
                task_type="image-classification",
                labels=["Circle", "Square", "Triangle"],
                team=team,
                workers_per_item=2,
                short_instructions="Which shape does the picture show?",
                full_instructions="Pick the shape of the large colored figure in the picture.",
            )
            folder = Path(settings.MEDIA_ROOT) / "demo"
            folder.mkdir(parents=True, exist_ok=True)
            lines = []
            for index in range(SHAPE_IMAGES):
                shape = SHAPES[index % len(SHAPES)]
                (folder / f"shape-{index:02d}.png").write_bytes(_shape_png(shape, index))
                lines.append(f'{{"source-ref": "demo/shape-{index:02d}.png", "drawn": "{shape}"}}')
            self._import(job, manager, ("\n".join(lines) + "\n").encode())
            job_start(job=job, by=manager)

        self.stdout.write("Demo loaded. Sign in at /login/ with:")
        self.stdout.write(f"  manager  {MANAGER[0]} / {MANAGER[1]}  (console: /console/)")
        for name, password in LABELERS:
            self.stdout.write(f"  labeler  {name} / {password}  (portal: /work/)")

    def _import(self, job, manager, body: bytes) -> None:
        run = import_stage_manifest(
            job=job, created_by=manager, chunks=[body], original_name="demo"
        )
        run = import_run(import_id=run.pk)  # run it here: the worker may not be up yet
        job.refresh_from_db()
        if run.status != "succeeded":
            raise RuntimeError(f"the demo import failed: {run.message} {run.errors}")
