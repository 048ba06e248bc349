"""CSV safe to open in a spreadsheet: every CSV the project writes goes through ``csv_writer``.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheets as a formula (CSV injection, OWASP); such a text cell gets a leading single
quote, which spreadsheets show as text. Numbers are written as they are.
"""

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def spreadsheet_safe(cell: Any) -> Any:
    """``cell`` as a spreadsheet reads it as text: a formula-like string gets a leading '."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


class SafeCsvWriter:
    """``csv.writer`` whose rows pass every cell through ``spreadsheet_safe``."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, cells: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(cell) for cell in cells])


def csv_writer(out: _Writable) -> SafeCsvWriter:
    """The project's CSV writer (use it instead of ``csv.writer``)."""
    return SafeCsvWriter(out)
