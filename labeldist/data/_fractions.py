"""The ``fractions`` layout: which columns hold which label's share, and one row's shares -> an Example.

One row per item, one column per label holding the fraction of annotators who chose it
(``q_l`` of paper eq. 1, given by the source), optional ``n_annotators``. Single-label rows
must sum to 1 within 0.02 (rounded source values) and are renormalised to sum to exactly 1.
Used by :mod:`labeldist.data.files`; ``rd`` is its reader context (path, layout, problems).
"""

from __future__ import annotations

import math
from typing import Any

from labeldist.data._cells import short
from labeldist.data._common import majority_multilabel, plurality_single
from labeldist.data._rows import is_missing
from labeldist.data.layout import how_to_set, list_columns
from labeldist.errors import LabeldistError
from labeldist.records import (
    NONE_LABEL,
    Example,
    HumanDistribution,
    LabelSet,
    normalize_label,
)

from labeldist.data._reader import _Item, _Reader


def fraction_columns(rd: _Reader, columns, label_set, multilabel) -> dict[str, str]:
    """label name -> column name for the ``fractions`` layout."""
    lay, path = rd.layout, rd.path
    if lay.label_columns is not None:
        cols = list(lay.label_columns)
        absent = [c for c in cols if c not in columns]
        if absent:
            raise LabeldistError(f"{path}: label_columns {short(absent)} not in the file (columns: {list_columns(columns)})",
                                 "name existing columns in label_columns=...")
    elif label_set is not None:
        by_norm = {normalize_label(c): c for c in columns}
        missing = [l for l in label_set.labels if l not in by_norm]
        if missing:
            raise LabeldistError(f"{path}: no fraction column for label(s) {', '.join(missing)} "
                                 f"(columns: {list_columns(columns)})", fractions_fix(rd, "name the columns after the "
                                                                                      "labels or pass label_columns=..."))
        cols = [by_norm[l] for l in label_set.labels]
    else:
        exclude = {lay.id_column, lay.text_column, lay.split_column, lay.n_annotators_column}
        cols = [c for c in columns if c not in exclude]
        if not cols:
            raise LabeldistError(f"{path}: no label columns found (columns: {list_columns(columns)})",
                                 fractions_fix(rd, "add one fraction column per label"))
    out: dict[str, str] = {}
    for c in cols:
        lab = normalize_label(c)
        if lab in out:
            raise LabeldistError(f"{path}: columns {short(out[lab])} and {short(c)} are the same label {short(lab)}",
                                 "keep one column per label")
        out[lab] = c
    if multilabel and NONE_LABEL in out:
        raise LabeldistError(f"{path}: fraction column {short(out[NONE_LABEL])} would be a label named 'none', which "
                             "multi-label sets reserve for 'no label'", "rename or drop the column")
    if label_set is not None and tuple(out) != label_set.labels:
        raise LabeldistError(f"{path}: label_columns {cols} do not match labels {list(label_set.labels)}",
                             "pass the same labels in the same order")
    return out


def fractions_fix(rd: _Reader, fix: str) -> str:
    """When ``fractions`` was only a guess, say how to name the labels column instead."""
    if not rd.auto:
        return fix
    lay = rd.layout
    return (f"{fix}; the layout 'fractions' was guessed because there is no {lay.labels_column!r}, "
            f"{lay.annotator_column!r} or {lay.annotations_column!r} column: if a column holds label lists, pass "
            f"{how_to_set('labels_column', 'NAME')}")


def fraction_example(rd: _Reader, key, item: _Item, label_set: LabelSet) -> Example | None:
    probs = []
    for lab, raw in (item.fractions or {}).items():
        p = _number(raw)
        if p is None or not 0.0 <= p <= 1.0:
            rd.bad(item.loc, f"fraction for label {short(lab)} of item {short(key)} is {short(raw)}, not a number in [0, 1]",
                   fractions_fix(rd, "write the fraction of annotators who chose the label"))
            return None
        probs.append(p)
    if not label_set.multilabel:
        total = sum(probs)
        if abs(total - 1.0) > 0.02:
            rd.bad(item.loc, f"single-label fractions of item {short(key)} sum to {total:.3f}, not 1",
                   "fix the fractions or read the file with multilabel=True")
            return None
        probs = [p / total for p in probs]
    n = None
    if not is_missing(item.n_annotators):
        count = _number(item.n_annotators)
        if count is None or count < 1 or count != int(count):
            rd.bad(item.loc, f"n_annotators of item {short(key)} is {short(item.n_annotators)}, not a whole number >= 1",
                   "write how many annotators labelled the item, or leave the cell empty")
            return None
        n = int(count)
    human = HumanDistribution(tuple(probs), n, "fractions")
    gold = majority_multilabel(probs, label_set) if label_set.multilabel else plurality_single(probs, label_set)
    return Example(key, item.text, gold=gold, human=human, split=item.split, meta={"source_loc": item.loc})


def _number(raw: Any) -> float | None:
    """A finite float from a number or numeric string; None for anything else (true/false included)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        p = float(raw)
    except ValueError:
        return None
    return p if math.isfinite(p) else None
