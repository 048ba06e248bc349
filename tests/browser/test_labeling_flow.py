"""The web UI end to end in headless Chromium: the labeler's work page and the console."""

import io
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from PIL import Image

from labeling.models import Assignment, Job
from labeling.services.jobs import job_start
from tests.conftest import client_for, import_lines

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def sign_in(page: "Page", username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def exported_labels(job: Job, manager) -> list[tuple[str, str]]:
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=manifest")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    metadata_key = f"{job.label_attribute_name}-metadata"
    return [
        (line["source"], line[metadata_key]["class-name"] if metadata_key in line else "")
        for line in map(json.loads, lines)
    ]


def test_a_labeler_labels_three_items_with_the_keyboard(
    page: "Page", make_job, labeler, manager, screenshot
):
    job = make_job(
        items=3,
        workers_per_item=1,
        labels=["cat", "dog", "bird"],
        short_instructions="Which animal does the text name?",
        full_instructions="Pick the animal the text is about.",
        examples=[{"kind": "good", "source": "Meow", "label": "cat", "explanation": "it meows"}],
    )
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    screenshot(page, "labeler-jobs")
    page.get_by_role("link", name="Start working").click()

    target = page.locator("classification-target")
    expect(target).to_contain_text("text 0")
    expect(page.locator("#lease-timer")).to_contain_text("left")
    page.keyboard.press("Enter")  # nothing chosen yet: refused with a message
    expect(page.locator(".crowd-form-message")).to_contain_text("Choose a category first")
    screenshot(page, "work-page")

    for index, (key, label) in enumerate(zip("123", ["cat", "dog", "bird"], strict=True)):
        expect(target).to_contain_text(f"text {index}")
        page.keyboard.press(key)
        expect(page.locator('.qc-choice[aria-pressed="true"]')).to_contain_text(label)
        page.keyboard.press("Enter")
        expect(page.locator("#done-count")).to_have_text(str(index + 1))

    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    assert exported_labels(job, manager) == [
        ("text 0", "cat"),
        ("text 1", "dog"),
        ("text 2", "bird"),
    ]

    # The manager's dashboard now charts the three labels and counts the worker's answers.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    expect(page.locator("#labels-chart svg.chart-svg rect")).to_have_count(3)
    expect(page.locator(".chart-legend")).to_contain_text("bird (1)")
    expect(page.locator("#worker-stats")).to_contain_text("lab1")
    expect(page.locator("#job-status")).to_have_text("Completed")
    screenshot(page, "dashboard-with-labels")


def test_skip_instructions_and_a_held_lease(page: "Page", make_job, labeler, manager, screenshot):
    job = make_job(items=2, workers_per_item=1, full_instructions="Read it all, twice.")
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    target = page.locator("classification-target")
    expect(target).to_contain_text("text 0")

    page.keyboard.press("i")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Read it all, twice.")
    screenshot(page, "instructions-dialog")
    page.keyboard.press("2")  # keys do nothing while the dialog is open
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator('.qc-choice[aria-pressed="true"]')).to_have_count(0)

    # Reloading keeps the lease: the page resumes the task it already holds.
    page.reload()
    expect(target).to_contain_text("text 0")
    expect(page.locator("#work-status")).to_contain_text("already had this task open")

    page.keyboard.press("s")
    expect(target).to_contain_text("text 1")
    page.get_by_role("button", name="dog").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    assert exported_labels(job, manager) == [("text 0", ""), ("text 1", "dog")]


@pytest.mark.parametrize("held_at_most", [1, 2])
def test_a_reload_shows_the_held_task_without_a_refused_claim(
    page: "Page", make_job, labeler, held_at_most
):
    job = make_job(items=2, workers_per_item=1, max_concurrent_tasks_per_worker=held_at_most)
    refused: list[str] = []
    page.on("response", lambda r: r.status >= 400 and refused.append(f"{r.status} {r.url}"))
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    target = page.locator("classification-target")
    expect(target).to_contain_text("text 0")

    page.reload()
    expect(target).to_contain_text("text 0")
    expect(page.locator("#work-status")).to_contain_text("already had this task open")
    # The page used to claim first: a 409 in the console at one task per worker, and at two a
    # second lease taken while the first stayed held out of sight.
    assert refused == []
    assert Assignment.objects.filter(job=job, worker=labeler).count() == 1


def test_a_manager_creates_a_job_and_imports_items(page: "Page", manager, tmp_path, screenshot):
    sign_in(page, "pm", "manager-pass-1")
    expect(page).to_have_url(re.compile(r"/console/$"))

    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Team name").fill("Annotators")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator(".message-success")).to_contain_text("Annotators")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill("ann-password-1")
    page.get_by_role("button", name="Add labeler").click()
    expect(page.locator(".message-success")).to_contain_text("ann")
    screenshot(page, "teams")

    page.get_by_role("link", name="New job").click()
    page.get_by_label("Name", exact=True).fill("Animal sightings")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator(".field-error")).to_contain_text("Enter at least one label")
    screenshot(page, "job-form-errors")
    page.get_by_label("Labels").fill("cat\ndog\nbird")
    page.get_by_label("Short instructions").fill("Which animal is it?")
    page.get_by_label("Workers per item").fill("2")
    page.get_by_role("button", name="Create job").click()

    job = Job.objects.get(name="Animal sightings")
    expect(page).to_have_url(re.compile(rf"/console/jobs/{job.pk}/$"))
    assert job.labels == ["cat", "dog", "bird"] and job.team.name == "Annotators"

    manifest = tmp_path / "animals.jsonl"
    manifest.write_text("".join(json.dumps({"source": f"a {a}"}) + "\n" for a in ("cat", "dog")))
    page.set_input_files("#import-file", str(manifest))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-phase")).to_have_text("succeeded")
    expect(page.locator("#import-message")).to_contain_text("Imported 2 item(s)")
    expect(page.locator('[data-count="items_total"]')).to_have_text("2")

    page.get_by_role("button", name="Start job").click()
    expect(page.locator("#job-status")).to_have_text("In progress")
    expect(page.locator("#recent-imports")).to_contain_text("animals.jsonl")
    screenshot(page, "dashboard")
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.locator("table")).to_contain_text("Animal sightings")
    screenshot(page, "console-jobs")


def test_an_import_with_bad_lines_shows_their_numbers(page: "Page", make_job, manager, screenshot):
    job = make_job(items=0, start=False)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    body = '{"source": "fine"}\nnot json at all\n{"text": "no source"}\n'
    page.set_input_files(
        "#import-file",
        files=[{"name": "bad.jsonl", "mimeType": "application/x-ndjson", "buffer": body.encode()}],
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-phase")).to_have_text("failed")
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Line 2")
    expect(errors.nth(0)).to_contain_text("not valid JSON")
    expect(errors.nth(1)).to_contain_text("Line 3")
    expect(errors.nth(1)).to_contain_text('"source"')
    expect(page.locator("#recent-imports")).to_contain_text("bad.jsonl")
    screenshot(page, "import-failed")
    # The recent imports keep the reasons after the panel is gone.
    page.reload()
    page.locator("#recent-imports details summary").click()
    past = page.locator("#recent-imports details li")
    expect(past).to_have_count(2)
    expect(past.nth(0)).to_contain_text("Line 2: not valid JSON")
    screenshot(page, "import-failed-recent")
    job.refresh_from_db()
    assert job.items_total == 0


def test_an_image_task_shows_its_image(
    page: "Page", make_job, labeler, manager, settings, screenshot
):
    image = io.BytesIO()
    Image.new("RGB", (320, 200), "#3a7").save(image, format="PNG")
    (settings.MEDIA_ROOT / "shape.png").write_bytes(image.getvalue())
    job = make_job(items=0, start=False, task_type="image-classification", labels=["Circle", "Box"])
    import_lines(job, manager, [{"source-ref": "shape.png"}])
    job_start(job=job, by=manager)

    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    picture = page.locator("crowd-image-classifier .qc-image img")
    expect(picture).to_be_visible()
    page.wait_for_function("document.querySelector('.qc-image img').naturalWidth === 320")
    screenshot(page, "image-task")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    response = client_for(manager).get(f"/api/v1/jobs/{job.pk}/export?format=csv")
    assert "Box" in b"".join(response.streaming_content).decode()


def test_a_lost_submit_is_retried_and_ended_leases_are_announced(
    page: "Page", make_job, labeler, manager
):
    job = make_job(items=2, workers_per_item=1)
    page.clock.install()
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    target = page.locator("classification-target")
    expect(target).to_contain_text("text 0")

    # The first submit dies on the wire: the form says so, retries, and the answer is kept.
    dropped: list[str] = []

    def drop_the_first(route) -> None:
        if dropped:
            route.continue_()
        else:
            dropped.append(route.request.url)
            route.abort("connectionreset")

    page.route("**/api/v1/assignments/*/submit", drop_the_first)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator(".crowd-form-message")).to_contain_text("Network trouble")
    expect(target).to_contain_text("text 1")
    assert len(dropped) == 1
    assert exported_labels(job, manager)[0] == ("text 0", "cat")

    # The server refuses an answer on a lease that ran out: the page says why and offers more.
    Assignment.objects.filter(worker=labeler, status="leased").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("the lease ran out")
    page.get_by_role("button", name="Get a new task").click()
    expect(target).to_contain_text("text 1")

    # The countdown runs out in the page: it says so and offers a new task.
    page.clock.fast_forward("05:05")
    expect(page.locator("#lease-timer")).to_have_text("Time is up")
    expect(page.locator("#work-status")).to_contain_text("Time is up")
    expect(page.get_by_role("button", name="Get a new task")).to_be_focused()
