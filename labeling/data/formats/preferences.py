"""Preference pairs of LLM pairwise-preference and side-by-side jobs as JSON Lines, one pair
per line: ``{"prompt", "chosen", "rejected"}`` (what reward-model and DPO trainers read, and
``datasets.load_dataset("json", ...)`` loads). A side-by-side item gives one line per
dimension (its name under ``"dimension"``, "overall" among them). Items or dimensions
consolidated as a tie are left out: a tie is no preference pair.
"""

import json
from collections.abc import Iterator

from labeling.data.exports import ExportTally, written
from labeling.data.formats.base import decode_item, labeled_items, register_export_format
from labeling.models import Job


def _pair(line: dict, preference: str, **extra: str) -> bytes:
    if preference not in ("A", "B"):
        return b""
    chosen, rejected = ("response_a", "response_b")[:: 1 if preference == "A" else -1]
    pair = {"prompt": line["prompt"], "chosen": line[chosen], "rejected": line[rejected], **extra}
    return (json.dumps(pair, ensure_ascii=False) + "\n").encode()


def preference_line(line: dict, value: dict) -> bytes:
    """The item's JSON line(s), or b"" for a tie."""
    if isinstance(value.get("dimensions"), dict):
        return b"".join(
            _pair(line, d["preference"], dimension=name) for name, d in value["dimensions"].items()
        )
    return _pair(line, value["preference"])


class Preferences:
    name = "preferences"
    content_type = "application/x-ndjson"
    suffix = "preferences.jsonl"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        def line_of(row: tuple) -> bytes:
            _, line, value = decode_item(row)
            return preference_line(line, value)

        for chunk in written(ExportTally(job, self.name), labeled_items(job), line_of):
            if chunk:
                yield chunk


register_export_format(Preferences())
