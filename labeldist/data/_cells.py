"""Checks for single cells of annotated files: ids, annotators and split names, texts, and label cells.

Each check returns the cleaned value or raises ``ValueError`` with a short reason that the
caller turns into a one-line, file-and-line :class:`~labeldist.errors.LabeldistError`.
JSON values other than strings and numbers (objects, lists, true/false) are refused where a
name is expected, and names spanning several lines are refused (in CSV they are the usual
trace of an unclosed quote).
"""

from __future__ import annotations

import json
import math
from typing import Any

from labeldist.data._rows import is_missing


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so one huge cell cannot flood a message."""
    r = repr(value)
    return r if len(r) <= limit else f"{r[:limit - 15]}... ({len(r)} chars)"


def kind_of(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def name_cell(value: Any, what: str) -> str | None:
    """A cell naming something (id, annotator, split): its stripped string; None if missing.

    Strings and numbers are accepted (``7`` -> ``"7"``); anything else raises ValueError.
    """
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{what} is {kind_of(value)}, not a string or number")
    s = str(value).strip()
    if "\n" in s or "\r" in s:
        raise ValueError(f"{what} {short(s)} spans several lines (an unclosed quote?)")
    return s


def text_cell(value: Any) -> str | None:
    """The text of an item as given (line breaks allowed); None if missing or blank."""
    if is_missing(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"is {kind_of(value)}, not a string")
    return value if value.strip() else None


def label_cell(value: Any, separator: str) -> list[str] | None:
    """The labels in one annotator's (or an item's) label cell; None for an empty cell.

    Accepted: a JSON list (``["joy", "anger"]``; ``[]`` is an explicit empty answer), a
    Python/Arrow list, a ``separator``-joined string (``joy;anger``), or a number. Empty:
    None, NaN, a blank string, or a string holding only separators. Raises ValueError for
    malformed JSON, JSON objects, booleans, nested lists, and empty or null list entries.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        s = value.strip()
        if "\n" in s or "\r" in s:
            raise ValueError(f"label cell {short(s)} spans several lines (an unclosed quote?)")
        if s[:1] not in ("[", "{"):
            # Split before stripping: a separator with spaces (" && ") would lose them to strip().
            parts = [p.strip() for p in value.split(separator)]
            return [p for p in parts if p] or None
        try:
            value = json.loads(s)
        except json.JSONDecodeError as e:
            raise ValueError(f"malformed JSON label list {short(s)} ({e.msg})") from None
        except RecursionError:
            raise ValueError(f"JSON label list {short(s)} is nested too deeply") from None
    if isinstance(value, bool):
        raise ValueError(f"cannot read labels from {kind_of(value)}")
    if isinstance(value, dict):
        raise ValueError(f"labels are {kind_of(value)} {short(value)}, not a label list")
    if isinstance(value, (int, float)):
        return [str(value)]  # numeric label codes; NaN was caught as missing above
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        out = []
        for v in value:
            if isinstance(v, str) and v.strip() and "\n" not in v and "\r" not in v:
                out.append(v.strip())
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out.append(str(v))
            elif isinstance(v, (list, tuple, dict)):
                raise ValueError(f"nested value {short(v)} in label list {short(value)}; a flat list was expected")
            else:
                raise ValueError(f"entry {short(v)} in label list {short(value)} is not a label")
        return out
    raise ValueError(f"cannot read labels from {kind_of(value)} {short(value)}")
