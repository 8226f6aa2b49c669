"""Spreadsheet cells that start with =, +, - or @ are data, in and out (THREATS.md).

Every CSV Carelog writes passes its cells through formula_safe(); every XLSX cell holding text is typed
as a string (data_type "s"), which spreadsheet programs never run. Reading undoes formula_safe() so a
file Carelog wrote imports as it was exported.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
FORMULA_STARTS = ("=", "+", "-", "@")


def formula_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe,
    which spreadsheets show as text; numbers such as -15.00 stay numbers."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def undo_formula_safe(text: str) -> str:
    """The text formula_safe() was given: only an apostrophe it would have added is taken away."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS and formula_safe(text[1:]) == text:
        return text[1:]
    return text
