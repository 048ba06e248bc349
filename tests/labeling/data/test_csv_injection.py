"""Every CSV the project writes is safe to open in a spreadsheet: a text cell that starts
with = + - @ or a tab or carriage return gets a leading single quote (OWASP CSV injection),
in the job export and in payouts.csv alike."""

import csv
import io
import re
from pathlib import Path

import pytest

from labeling.data.spreadsheet import spreadsheet_safe
from labeling.models import Job, User
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1",
    "-1+2",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_cell_gets_a_leading_quote(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("cell", ["cat", "", " =1", "a=b", "'=1", 7, -1, 0.5, None])
def test_other_cells_are_left_as_they_are(cell):
    assert spreadsheet_safe(cell) == cell


def test_the_csv_export_escapes_item_text_and_labels(make_job, manager, manager_client, labeler):
    job = make_job(items=0, start=False, labels=["=cmd", "ok"])
    import_lines(job, manager, [{"source": text} for text in FORMULAS])
    job_start(job=job, by=manager)
    lease = assignment_claim(job=job, worker=labeler)
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "=cmd"})
    response = manager_client.get(f"/api/v1/jobs/{job.pk}/export?format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["source"] for row in rows] == ["'" + text for text in FORMULAS]
    assert rows[0]["label"] == "'=cmd" and rows[0]["confidence"] == "1.0"
    assert rows[1]["label"] == ""


def test_payouts_csv_escapes_usernames_and_emails(make_job, manager_client, labeler):
    job = make_job(items=1)
    Job.objects.filter(pk=job.pk).update(reward_cents=5)
    lease = assignment_claim(job=job, worker=labeler)
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    User.objects.filter(pk=labeler.pk).update(
        username='=HYPERLINK("http://evil.example")', email="@SUM(1+1)@example.com"
    )
    report = manager_client.get("/api/v1/payouts.csv")
    assert report.status_code == 200
    (row,) = csv.DictReader(io.StringIO(report.content.decode()))
    assert row["username"] == '\'=HYPERLINK("http://evil.example")'
    assert row["email"] == "'@SUM(1+1)@example.com"
    assert (row["tasks"], row["amount_cents"]) == ("1", "5")


def test_every_module_writes_csv_through_the_safe_writer():
    """A new CSV writer must be ``labeling.data.spreadsheet.csv_writer`` (and get a test like
    the ones above and in tests/workflows/test_csv_injection.py), never ``csv.writer`` or
    ``csv.DictWriter`` of its own."""
    root = Path(__file__).resolve().parents[3]
    plain = re.compile(
        r"\bcsv\s*\.\s*(writer|DictWriter)\b|from\s+csv\s+import[^\n]*\b(writer|DictWriter)\b"
    )
    own = [
        str(path.relative_to(root))
        for app in ("labeling", "workflows", "active_learning", "control_plane", "config")
        for path in sorted((root / app).rglob("*.py"))
        if path != root / "labeling/data/spreadsheet.py" and plain.search(path.read_text())
    ]
    assert not own, f"these modules write CSV without labeling.data.spreadsheet.csv_writer: {own}"
    users = {
        str(path.relative_to(root))
        for app in ("labeling", "workflows")
        for path in (root / app).rglob("*.py")
        if "csv_writer(" in path.read_text() and path.name != "spreadsheet.py"
    }
    assert users == {  # each has its test: a new one needs one too
        "labeling/data/exports.py",  # test_the_csv_export_escapes_item_text_and_labels
        "labeling/workforces/api.py",  # test_payouts_csv_escapes_usernames_and_emails
        "workflows/builtin_exports.py",  # tests/workflows/test_csv_injection.py
        "workflows/monitoring/services/ground_truth.py",  # tests/workflows/test_csv_injection.py
    }, users
