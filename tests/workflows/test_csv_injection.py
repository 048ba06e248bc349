"""The review loops' CSV files are safe to open in a spreadsheet, as every CSV Quorum writes: a
text cell starting with = + - @, a tab or a CR gets a leading ' (labeling/data/spreadsheet.py).
The labeling exports and payouts.csv are checked in tests/labeling/data/test_csv_injection.py."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from tests.workflows.builtin_inputs import answer_blocks, pair, textract_input
from workflows.builtin_exports import key_value_corrections_csv
from workflows.models import HumanLoop
from workflows.monitoring.services.ground_truth import GroundTruthRow, ground_truth_csv
from workflows.states import HumanLoopStatus

FORMULAS = ["=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_ground_truth_csv_neutralises_formula_cells():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    rows = [
        GroundTruthRow(
            prediction_id=formula,
            model_name="m",
            model_version=formula,
            predicted=formula,
            human=formula,
            confidence=-0.5,
            predicted_at=at,
            labeled_at=at,
            route_reason="audit",
        )
        for formula in FORMULAS
    ]
    written = _rows("".join(ground_truth_csv(iter(rows))))
    assert len(written) == len(FORMULAS)
    for formula, row in zip(FORMULAS, written, strict=True):
        for column in ("prediction_id", "model_version", "predicted", "human"):
            assert row[column] == "'" + formula, (column, row)
        assert row["confidence"] == "-0.5"  # a number stays a number


@pytest.mark.django_db
def test_the_key_value_corrections_csv_neutralises_formula_cells(make_flow):
    flow = make_flow()
    detected = textract_input(pair(1, "=HYPERLINK(1)", "+100", 90.0, 60.0))
    answer = {
        "workerId": "@worker",
        "answerContent": answer_blocks(("=HYPERLINK(1)", "-7", None), ("\tNew key", "\r=2", None)),
    }
    HumanLoop.objects.create(
        flow=flow,
        name="=loop",
        status=HumanLoopStatus.COMPLETED,
        input_content=json.dumps(detected),
        output={"humanAnswers": [answer]},
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    written = _rows("".join(key_value_corrections_csv(flow=flow)))
    assert len(written) == 2, written
    changed = next(row for row in written if row["detected_key"])
    added = next(row for row in written if not row["detected_key"])
    assert changed["human_loop"] == "'=loop" and changed["worker"] == "'@worker"
    assert changed["key"] == changed["detected_key"] == "'=HYPERLINK(1)"
    assert (changed["detected_value"], changed["reviewed_value"]) == ("'+100", "'-7")
    assert (added["key"], added["reviewed_value"]) == ("'\tNew key", "'\r=2")
