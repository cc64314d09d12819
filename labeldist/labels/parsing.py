"""Parse a generated answer into labels: exact matches after normalisation, nothing fuzzy.

The reference fell back to substring matching of every label in the raw output (so
``care`` matched ``scared``). Here a string is a label only if it equals one after
:func:`~labeldist.records.normalize_label`; anything else is returned in ``unknown`` so a
run can count it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from labeldist.records import NONE_LABEL, LabelSet, normalize_label

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ParsedAnswer:
    labels: tuple[str, ...]  # in generation order, de-duplicated, label-set names
    unknown: tuple[str, ...]  # strings that are not labels (and not "none")
    said_none: bool  # the model wrote "none" / an empty list
    well_formed: bool  # the answer had the expected format


def answer_end(text: str, label_format: str) -> int:
    """Character offset where the answer ends: after the first ``}`` (JSON) or at the first
    newline after the answer starts (comma; Llama Guard: the verdict's line, and the codes'
    line after ``unsafe``). Text after it is a hallucinated continuation."""
    if label_format == "llamaguard":
        start = len(text) - len(text.lstrip())
        nl = text.find("\n", start)
        if nl < 0 or text[start:nl].strip().lower() != "unsafe":
            return len(text) if nl < 0 else nl
        nl2 = text.find("\n", nl + 1)
        return len(text) if nl2 < 0 else nl2
    if label_format == "json":
        start = text.find("{")
        end = text.find("}", start + 1 if start >= 0 else 0)
        return len(text) if end < 0 else end + 1
    stripped = len(text) - len(text.lstrip())
    nl = text.find("\n", stripped)
    return len(text) if nl < 0 else nl


def _split_known(items: list[str], label_set: LabelSet) -> ParsedAnswer:
    labels: list[str] = []
    unknown: list[str] = []
    said_none = False
    for raw in items:
        norm = normalize_label(raw)
        if not norm:
            continue
        if norm == NONE_LABEL:
            said_none = True
        elif norm in label_set.labels:
            if norm not in labels:
                labels.append(norm)
        else:
            unknown.append(raw.strip())
    return ParsedAnswer(tuple(labels), tuple(unknown), said_none or not items, True)


def parse_answer(text: str, label_set: LabelSet, label_format: str = "json", json_key: str = "label") -> ParsedAnswer:
    """Labels in a generated answer.

    ``json``: the object between the first ``{`` and the next ``}``, key ``json_key``; if it
    does not parse (e.g. cut off), the quoted strings after the key are read instead and
    the answer is marked not well-formed. ``comma``: the first line, split on commas.
    """
    text = text[: answer_end(text, label_format)]
    if label_format == "json":
        start, end = text.find("{"), text.rfind("}")
        if start >= 0 and end > start:
            try:
                obj = json.loads(text[start : end + 1])
                value = obj.get(json_key) if isinstance(obj, dict) else None
                if isinstance(value, str):
                    value = [value]
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    return _split_known(value, label_set)
            except json.JSONDecodeError:
                pass
        key_at = text.find(f'"{json_key}"')
        tail = text[key_at + len(json_key) + 2 :] if key_at >= 0 else text[start + 1 :] if start >= 0 else ""
        items = _QUOTED.findall(tail)
        parsed = _split_known(items, label_set)
        return ParsedAnswer(parsed.labels, parsed.unknown, parsed.said_none and bool(items), False)
    if label_format == "comma":
        line = text.strip()
        items = [p for p in line.split(",")] if line else []
        return _split_known(items, label_set)
    if label_format == "llamaguard":
        lines = text.strip().split("\n")
        verdict = lines[0].strip().lower()
        if verdict == "safe":
            return ParsedAnswer((), (), True, len(lines) == 1)
        codes = [c for c in lines[1].split(",")] if verdict == "unsafe" and len(lines) > 1 else []
        parsed = _split_known(codes, label_set) if codes else ParsedAnswer((), (), False, False)
        return ParsedAnswer(parsed.labels, parsed.unknown, False, verdict == "unsafe" and bool(parsed.labels))
    raise ValueError(f"unknown label format {label_format!r}")
