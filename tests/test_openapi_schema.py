"""docs/openapi.yaml is the schema the code serves: regenerate it when the API changes."""

from pathlib import Path

from django.core.management import call_command

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"


def test_the_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--fail-on-warn")
    assert generated.read_text() == SCHEMA.read_text(), (
        "the API changed: run `python manage.py spectacular --file docs/openapi.yaml`"
    )
