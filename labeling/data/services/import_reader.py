"""Reading a staged manifest: JSON Lines or a JSON array, streamed, nesting depth capped.

A JSON array is read element by element with ``json.JSONDecoder.raw_decode`` over a buffer
of a few chunks, so a worker's memory stays flat however large the array is. Element N is
reported as "line" N, like a line of JSON Lines.
"""

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

MAX_NESTING = 64
READ_CHUNK_BYTES = 1 << 20
# An element that is not complete after this many characters is refused, so a stray quote
# cannot make the reader hold the rest of the file in memory.
MAX_ELEMENT_CHARS = 32 * (1 << 20)
BAD_UTF8 = "\x00bad-utf8"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_WHITESPACE = " \t\n\r"
_NUMBER_GOES_ON = frozenset("0123456789.eE+-")


class ManifestProblem(Exception):
    """A problem that stops the reading of a manifest at line (or element) ``number``."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}")
        self.number = number
        self.reason = reason


def nesting_problem(text: str, limit: int = MAX_NESTING) -> str | None:
    """Why ``text`` is nested too deeply to parse ("" or None when it is not).

    The usual line has few brackets, and counting them is one pass in C; only a line with
    more than ``limit`` of them has its depth measured (outside strings).
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return f"nested deeper than {limit} levels of arrays and objects"
        else:
            depth -= 1
    return None


def is_json_array(handle: BinaryIO) -> bool:
    """Whether the file's first non-blank character is ``[`` (the handle is rewound)."""
    head = handle.read(64).lstrip()
    handle.seek(0)
    return head.startswith(b"[")


def json_lines(handle: BinaryIO) -> Iterator[tuple[int, int, str]]:
    """Yield (line number, bytes read so far, stripped text) of each non-blank line."""
    read = 0
    for number, raw in enumerate(handle, start=1):
        read += len(raw)
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            text = BAD_UTF8
        if text:
            yield number, read, text


def json_array_elements(
    handle: BinaryIO, *, chunk_bytes: int = READ_CHUNK_BYTES
) -> Iterator[tuple[int, int, str]]:
    """Yield (element number, bytes read so far, compact JSON text) of each array element.

    Raises ManifestProblem where the array cannot be read on (bad JSON, bad UTF-8, nesting
    too deep for the parser): the element's boundaries are unknown from there.
    """
    reader = _ArrayReader(handle, chunk_bytes)
    yield from reader.elements()


class _ArrayReader:
    def __init__(self, handle: BinaryIO, chunk_bytes: int) -> None:
        self.handle = handle
        self.chunk_bytes = chunk_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder()
        self.buffer = ""
        self.pos = 0
        self.bytes_read = 0
        self.eof = False
        self.number = 0

    def _fill(self, size: int = 0) -> bool:
        """Read one more chunk, dropping what was consumed; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.handle.read(max(size, self.chunk_bytes))
        self.bytes_read += len(chunk)
        self.eof = not chunk
        try:
            text = self.decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError:
            raise ManifestProblem(max(self.number, 1), "the text is not valid UTF-8") from None
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0
        return True

    def _peek(self) -> str:
        """The next non-blank character ("" at the end of the file), not consumed."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def _value(self) -> tuple[object, str]:
        """Decode the value at the next non-blank character; return it and its source text."""
        self._peek()
        while True:
            start = self.pos
            try:
                value, end = self.json.raw_decode(self.buffer, start)
            except RecursionError:
                raise ManifestProblem(
                    self.number, f"nested deeper than {MAX_NESTING} levels of arrays and objects"
                ) from None
            except json.JSONDecodeError as exc:
                # It may only be cut off by the end of the buffer: read on (twice as much
                # each time, so a long element is parsed a few times, not once per chunk).
                pending = len(self.buffer) - start
                if pending < MAX_ELEMENT_CHARS and self._fill(pending):
                    continue
                raise ManifestProblem(self.number, f"not valid JSON ({exc.msg})") from None
            # A number cut by the end of the buffer ("12" of "123", "-7" of "-7.5") decodes
            # fine: read on until a character that cannot continue it follows.
            if _may_go_on(value, self.buffer, end) and self._fill():
                continue
            self.pos = end
            return value, self.buffer[start:end]

    def elements(self) -> Iterator[tuple[int, int, str]]:
        if self._peek() != "[":
            raise ManifestProblem(1, "the body is not a JSON array")
        self.pos += 1
        if self._peek() == "]":
            self.pos += 1
        else:
            while True:
                self.number += 1
                value, source = self._value()
                # Too deep to write back safely: its source goes on, and the check refuses it.
                text = source if nesting_problem(source) else _compact(value)
                yield self.number, self.bytes_read, text
                following = self._peek()
                self.pos += 1
                if following == "]":
                    break
                if following != ",":
                    raise ManifestProblem(
                        self.number, "expected , or ] after this element of the array"
                    )
        if self._peek() != "":
            raise ManifestProblem(self.number, "there is text after the end of the array")


def _may_go_on(value: object, buffer: str, end: int) -> bool:
    if end == len(buffer):
        return True
    return type(value) in (int, float) and buffer[end] in _NUMBER_GOES_ON


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
