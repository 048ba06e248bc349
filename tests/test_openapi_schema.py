"""docs/openapi.yaml is the schema the code serves: regenerate it when the API changes."""

import re
from pathlib import Path

from django.core.management import call_command

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
# Integer bounds come from the database backend (SQLite's are 64-bit, PostgreSQL's 32-bit
# for positive integers): everything else must match to the letter.
BACKEND_BOUNDS = re.compile(r"^\s*(maximum: \d+|minimum: -\d+|format: int64)\n", re.M)


def test_the_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--fail-on-warn")
    served, committed = (BACKEND_BOUNDS.sub("", path.read_text()) for path in (generated, SCHEMA))
    assert served == committed, (
        "the API changed: run `python manage.py spectacular --file docs/openapi.yaml`"
    )
