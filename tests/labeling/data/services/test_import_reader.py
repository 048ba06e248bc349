"""Manifests are read as streams: a JSON array element by element, nesting depth capped."""

import io
import json

import pytest

from labeling.data.services.import_reader import (
    MAX_NESTING,
    ManifestProblem,
    json_array_elements,
    nesting_problem,
)
from labeling.data.services.imports import import_run, import_stage_manifest
from labeling.models import Item


class CountingReader(io.BytesIO):
    """A file that remembers how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def _stage(job, manager, body: bytes):
    return import_run(
        import_id=import_stage_manifest(job=job, created_by=manager, chunks=[body]).pk
    )


def test_a_json_array_is_read_incrementally_not_whole():
    elements = [{"source": f"text {i} " + "x" * 200, "n": i} for i in range(40_000)]
    body = json.dumps(elements).encode()  # about 9 MB
    handle = CountingReader(body)
    stream = json_array_elements(handle, chunk_bytes=64 * 1024)
    number, _, first = next(stream)
    assert (number, json.loads(first)) == (1, elements[0])
    assert handle.bytes_read <= 64 * 1024 < len(body) // 100
    # Half-way through, the reader has read about half the file, no more.
    for number, _, text in stream:
        if number == 20_000:
            assert json.loads(text) == elements[19_999]
            assert handle.bytes_read < len(body) * 0.6
            break
    assert sum(1 for _ in stream) == 20_000


def test_elements_that_span_chunks_and_numbers_cut_by_a_chunk_edge_are_whole():
    body = b' [ 1, 23 ,456, "x\\"y", {"a": "\xc3\xa9", "b": [1, 2]}, -7.5e3 ,true] \n'
    texts = [text for _, _, text in json_array_elements(io.BytesIO(body), chunk_bytes=1)]
    assert texts == ["1", "23", "456", '"x\\"y"', '{"a":"é","b":[1,2]}', "-7500.0", "true"]


@pytest.mark.parametrize(
    ("body", "number", "reason"),
    [
        (b'[{"source": "a"}, {"source": "b"},]', 3, "not valid JSON (Expecting value)"),
        (b'[{"source": "a"} {"source": "b"}]', 1, "expected , or ] after this element"),
        (b'[{"source": "a"}] trailing', 1, "there is text after the end of the array"),
        (b'[{"source": "a"}, {"source": "\xff"}]', 2, "the text is not valid UTF-8"),
        (b'[{"source": "a"}, ' + b"[" * 100_000, 2, "nested deeper than 64 levels"),
    ],
)
def test_an_array_that_cannot_be_read_on_names_the_element(body, number, reason):
    with pytest.raises(ManifestProblem) as caught:
        list(json_array_elements(io.BytesIO(body), chunk_bytes=8))
    assert caught.value.number == number
    assert caught.value.reason.startswith(reason)


def test_nesting_is_measured_outside_strings_only():
    assert nesting_problem("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    assert nesting_problem("[" * MAX_NESTING + "]" * MAX_NESTING) is None
    assert nesting_problem(json.dumps({"source": "[" * 5000 + '"{' * 100})) is None


@pytest.mark.django_db
def test_a_pathologically_nested_line_is_refused_with_its_line_number(make_job, manager):
    job = make_job(items=0, start=False)
    body = b'{"source": "ok"}\n' + b"[" * 100_000 + b"\n" + b'{"source": "ok too"}\n'
    run = _stage(job, manager, body)
    assert run.status == "failed"
    assert run.errors == [
        {"line": 2, "reason": "nested deeper than 64 levels of arrays and objects"}
    ]
    assert not Item.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_bad_array_elements_are_reported_by_element_number(make_job, manager):
    job = make_job(items=0, start=False)
    deep = {"source": "deep", "x": json.loads("[" * 100 + "]" * 100)}
    body = json.dumps([{"source": "a"}, 5, deep, {"source": "d"}]).encode()
    run = _stage(job, manager, body)
    assert run.status == "failed"
    assert [(e["line"], e["reason"][:24]) for e in run.errors] == [
        (2, "a line must be a JSON ob"),
        (3, "nested deeper than 64 le"),
    ]
    broken = _stage(job, manager, b'[{"source": "a"}, {"source": "b"}, {"source": ]')
    assert broken.status == "failed"
    assert [e["line"] for e in broken.errors] == [3]
    assert "nothing was imported" in broken.message
    assert not Item.objects.filter(job=job).exists()
