"""Question–answer pairs written by several workers about one context: collected, not voted.

Free text has no majority. The consolidated value keeps every pair, merging the pairs whose
questions are the same once normalised (Unicode NFKC, case folded, punctuation dropped,
whitespace collapsed): the first-written pair stands for the group, the group's tags are the
union, and each merged pair keeps its provenance (which answer, which worker, its own
answer text). Pure Python; no database.
"""

import re
import unicodedata
from typing import Any

QA_COLLECT = "qa-collect"
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalised_question(text: str) -> str:
    """The form two questions share when they differ only in case, punctuation or spacing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip()


def collect_pairs(
    answers: list[list[dict[str, Any]]], workers: list[int] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """``answers`` holds each answer's pairs (``{"question", "answer", "tags"}``), in arrival
    order; ``workers`` the answers' worker ids. The de-duplicated pairs, each with
    ``sources`` (its provenance), and how many pairs were merged into an earlier one."""
    merged: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for index, pairs in enumerate(answers):
        worker = workers[index] if workers is not None else None
        for position, pair in enumerate(pairs):
            key = normalised_question(pair["question"])
            source = {"answer": index, "pair": position, "worker": worker, "text": pair["answer"]}
            group = merged.get(key)
            if group is None:
                merged[key] = {
                    "question": pair["question"],
                    "answer": pair["answer"],
                    "tags": list(pair.get("tags", [])),
                    "sources": [source],
                }
                continue
            duplicates += 1
            group["sources"].append(source)
            group["tags"].extend(t for t in pair.get("tags", []) if t not in group["tags"])
    return list(merged.values()), duplicates
