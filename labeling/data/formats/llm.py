"""LLM evaluation results in the JSON Lines a trainer reads (each loadable with
``datasets.load_dataset("json", data_files=...)``):

- ``rankings`` (``llm-ranking``): ``{"prompt", "responses", "ranking", "dimension"}``, one line
  per dimension; ``ranking`` is the consolidated rank of each response (1 = best, ties share).
- ``ratings`` (``llm-rubric-rating``): ``{"prompt", "response", "scores": {criterion: value}}``.
- ``qa-pairs`` (``llm-qa-writing``): ``{"context", "question", "answer", "tags"}``, one line per
  consolidated (de-duplicated) pair.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from labeling.data.exports import ExportTally, written
from labeling.data.formats.base import decode_item, labeled_items, register_export_format
from labeling.models import Job


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode() for r in rows)


def ranking_rows(line: dict, value: dict) -> list[dict]:
    return [
        {"prompt": line["prompt"], "responses": line["responses"], "ranking": ranks, "dimension": d}
        for d, ranks in sorted(value.get("ranks", {}).items())
    ]


def rating_rows(line: dict, value: dict) -> list[dict]:
    scores = value["ratings"]
    if not isinstance(scores, dict):
        raise ValueError(f"the ratings are not an object: {scores!r}")
    return [{"prompt": line["prompt"], "response": line["response"], "scores": scores}]


def qa_rows(line: dict, value: dict) -> list[dict]:
    return [
        {
            "context": line["context"],
            "question": p["question"],
            "answer": p["answer"],
            "tags": p["tags"],
        }
        for p in value.get("pairs", [])
    ]


@dataclass(frozen=True)
class JsonLinesFormat:
    name: str
    suffix: str
    rows: Callable[[dict, dict], list[dict]]
    content_type: str = "application/x-ndjson"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        def line_of(row: tuple) -> bytes:
            _, line, value = decode_item(row)
            return _jsonl(self.rows(line, value))

        for chunk in written(ExportTally(job, self.name), labeled_items(job), line_of):
            if chunk:
                yield chunk


register_export_format(JsonLinesFormat("rankings", "rankings.jsonl", ranking_rows))
register_export_format(JsonLinesFormat("ratings", "ratings.jsonl", rating_rows))
register_export_format(JsonLinesFormat("qa-pairs", "qa-pairs.jsonl", qa_rows))
