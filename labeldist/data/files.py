"""Read annotated text files (CSV, TSV, JSONL, Parquet) into a :class:`~labeldist.records.Dataset`.

Four layouts (``FileLayout.kind``; column names are :class:`~labeldist.data.layout.FileLayout`
fields, shown here with their defaults):

``annotator_rows``
    one row per (item, annotator): columns ``id``, ``text``, ``annotator``, ``labels``.
``annotation_lists``
    one row per item; ``annotations`` holds a JSON list of per-annotator label lists
    (``[["joy"], ["joy", "anger"], []]``) or a JSON object annotator -> labels.
``fractions``
    one row per item with one column per label holding the fraction of annotators who chose
    it (optional ``n_annotators`` column).
``hard``
    one row per item with its aggregate labels only (``labels``).

``kind="auto"`` picks the first that fits the columns: an ``annotator`` column means
``annotator_rows``, ``annotations`` means ``annotation_lists``, ``labels`` means ``hard``,
anything else ``fractions``. A column named with anything but its default name
(``--id-column item_id``) must exist; a missing column is reported with the file's columns
and the flag to use.

A label cell is a JSON list (``["joy", "anger"]``) or labels joined by ``label_sep`` (default
``,``: ``joy,anger``; CLI ``--label-sep ';'``). In multi-label files ``none`` or ``[]`` is an
annotator's explicit vote for no label. An *empty* cell (blank, null, NaN) is, by
``empty_labels`` (CLI ``--empty-labels``): ``error`` (default) a missing answer that stops the
read (or is skipped under ``skip_invalid``); ``none`` an explicit no-label vote; ``missing`` a
missing answer left out of the item's distribution and counted in ``Dataset.description``.
Single-label files need exactly one label per annotator. The label set is ``labels=`` if given,
else the sorted set of labels seen (the fraction columns for ``fractions``); it is then fixed.

Human distribution (paper eq. 1): ``q_l = |{a : l in labels_a}| / n_annotators``, computed by
:meth:`HumanDistribution.from_annotations` over the annotators who answered. One annotator
gives kind ``single_annotator``; the ``hard`` layout gives ``aggregate_only`` (0/1 vectors,
never passed off as distributions); ``fractions`` gives kind ``fractions``. Single-label
fraction rows must sum to 1 within 0.02 (rounded source values) and are then renormalised to
sum to exactly 1.

Gold labels: multi-label ``{l : q_l >= 0.5}`` (a 50 % tie counts as positive); single-label
the unique plurality label, or ``None`` if the top vote share is tied. ``hard`` rows use
their labels as given.

Bad rows (empty ids or texts, JSON objects or lists where names or texts belong, unknown
labels, duplicate ids with conflicting texts, annotators without labels, malformed JSON
lines, fields spanning lines) raise a one-line :class:`LabeldistError` naming file, line and
fix; with ``skip_invalid=True`` they are skipped and listed in ``Dataset.skipped`` (count also
in ``Dataset.description``). Missing columns, broken CSV quoting, undecodable or UTF-16 bytes,
and empty files always raise. Long texts are read whatever their length.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from labeldist.data._cells import label_cell, name_cell, short, text_cell
from labeldist.data._common import (
    RowProblems,
    aggregate_example,
    annotator_example,
    finish_splits,
)
from labeldist.data._fractions import fraction_columns, fraction_example
from labeldist.data._reader import _Item, _Reader
from labeldist.data._rows import detect_format, is_missing, read_rows
from labeldist.data.layout import KINDS, FileLayout, how_to_set
from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, Dataset, Example, LabelSet, normalize_label

LAYOUTS = KINDS
# Label names that are the text form of a missing value, not a label (pandas writes "nan").
MISSING_MARKERS = ("nan", "null", "<na>", "n/a")
MAX_LABEL_CHARS = 100  # a longer "label" seen in a file is a text in the wrong column
NEEDED = {
    "annotator_rows": ("id_column", "text_column", "annotator_column", "labels_column"),
    "annotation_lists": ("id_column", "text_column", "annotations_column"),
    "hard": ("id_column", "text_column", "labels_column"),
    "fractions": ("id_column", "text_column"),
}


def read_annotated_file(
    path: str | Path,
    *,
    layout: str | FileLayout = "auto",
    labels: str | Sequence[str] | None = None,
    multilabel: bool = True,
    id_column: str | None = None,
    text_column: str | None = None,
    labels_column: str | None = None,
    annotator_column: str | None = None,
    annotations_column: str | None = None,
    split_column: str | None = None,
    n_annotators_column: str | None = None,
    label_columns: Sequence[str] | None = None,
    label_separator: str | None = None,
    label_sep: str | None = None,
    empty_labels: str | None = None,
    default_split: str = "test",
    name: str | None = None,
    file_format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
) -> Dataset:
    """Read one annotated file (see the module docstring for layouts and rules).

    ``layout`` is a :class:`FileLayout`, or a layout kind (``"auto"``, ``"annotator_rows"``,
    ...) for the default column names. The keyword arguments named after ``FileLayout``
    fields (``label_separator`` is the older name of ``label_sep``) override its values.
    Rows go to the split named in the split column when the file has it, else to
    ``default_split``. Returns a Dataset named ``name`` (default: the file's stem).
    """
    path = Path(path)
    lay = resolve_layout(layout, id_column=id_column, text_column=text_column, labels_column=labels_column,
                         annotator_column=annotator_column, annotations_column=annotations_column,
                         split_column=split_column, n_annotators_column=n_annotators_column,
                         label_columns=label_columns, label_separator=label_separator, label_sep=label_sep,
                         empty_labels=empty_labels)
    if not multilabel and lay.empty_labels == "none":
        raise LabeldistError("empty_labels='none' reads an empty cell as 'no label', which single-label data "
                             "does not have", f"use {how_to_set('empty_labels', 'missing')} or fill in the cells")
    label_set = LabelSet.parse(labels, multilabel=multilabel) if labels is not None else None
    fmt = detect_format(path, file_format)
    problems = RowProblems(skip_invalid)
    header, rows = read_rows(path, fmt, encoding=encoding, problems=problems)
    columns = header if header is not None else list(dict.fromkeys(k for _, r in rows for k in r))
    if not rows and not problems.skipped:
        raise LabeldistError(f"{path} has a header but no data rows", "add one row per item (or per annotator)")

    auto = lay.kind == "auto"
    if auto:
        kind = ("annotator_rows" if lay.annotator_column in columns
                else "annotation_lists" if lay.annotations_column in columns
                else "hard" if lay.labels_column in columns
                else "fractions")
        lay = dataclasses.replace(lay, kind=kind)
    lay.check_columns(path, columns, NEEDED[lay.kind])
    rd = _Reader(path, lay, problems, auto)
    frac_cols: dict[str, str] = {}
    if lay.kind == "fractions":
        frac_cols = fraction_columns(rd, columns, label_set, multilabel)
        if label_set is None:
            label_set = _file_label_set(path, tuple(frac_cols), multilabel)

    items: dict[str, _Item] = {}
    has_split = lay.split_column in columns
    for loc, row in rows:
        key, text, split = _id_text_split(rd, loc, row, has_split, default_split)
        if key is None:
            continue
        item = items.get(key)
        if item is not None and lay.kind != "annotator_rows":
            other = "with a different text " if item.text != text else ""
            rd.bad(loc, f"duplicate id {short(key)} {other}(first at {item.loc})",
                   f"give each item one row, or name the annotator column ({how_to_set('annotator_column', 'NAME')}) "
                   "to read one row per annotator")
            continue
        if item is not None and (item.text != text or item.split != split):
            what = "text" if item.text != text else f"split ({short(split)} vs {short(item.split)})"
            rd.bad(loc, f"id {short(key)} has a different {what} than at {item.loc}",
                   "make the rows of one item identical or give different items different ids")
            continue
        if item is None:
            item = _Item(text=text, loc=loc, split=split)
        if lay.kind == "annotator_rows":
            ok = _annotator_row(rd, loc, row, key, item)
        elif lay.kind == "annotation_lists":
            ok = _annotation_list(rd, loc, row.get(lay.annotations_column), key, item)
        elif lay.kind == "hard":
            ok = _labels_cell(rd, loc, row.get(lay.labels_column), key, "aggregate", item)
        else:
            item.fractions = {lab: row.get(col) for lab, col in frac_cols.items()}
            item.n_annotators = row.get(lay.n_annotators_column)
            ok = True
        if ok and key not in items:
            items[key] = item

    if label_set is None:
        label_set = _seen_label_set(rd, items, multilabel)

    splits: dict[str, list[Example]] = {}
    n_lost = n_unanswered = 0
    for key, item in items.items():
        if lay.kind != "fractions" and not item.votes:
            n_unanswered += 1  # every answer was an empty cell read as missing
            continue
        ex = _build_example(rd, key, item, label_set)
        if ex is None:
            n_lost += 1
        else:
            splits.setdefault(item.split, []).append(ex)
    n = sum(len(v) for v in splits.values())
    if n == 0:
        raise LabeldistError(f"{path}: no valid items",
                             "check the file against the layouts shown by `labeldist datasets --help-layouts`")
    desc = f"{path.name}: {n} items read as layout {lay.kind!r} ({fmt}).{problems.summary()}"
    if rd.n_empty:
        desc += (f" {rd.n_empty} empty label cell(s) read as 'no label' (empty_labels='none')."
                 if lay.empty_labels == "none" else
                 f" {rd.n_empty} empty label cell(s) read as missing answers and left out (empty_labels='missing').")
    if n_unanswered:
        desc += f" {n_unanswered} item(s) had no answer at all and are not in the dataset."
    if n_lost:
        desc += f" {n_lost} item(s) had all their rows skipped and are not in the dataset."
    return Dataset(name or path.stem, label_set, finish_splits(splits), desc, tuple(problems.skipped))


def resolve_layout(layout: str | FileLayout, **overrides) -> FileLayout:
    """``layout`` (a FileLayout or a kind) with the non-None keyword ``overrides`` applied."""
    if isinstance(layout, FileLayout):
        base = layout
    elif isinstance(layout, str):
        base = FileLayout(kind=layout)
    else:
        raise LabeldistError(f"layout={layout!r} is not a FileLayout or a layout name",
                             f"pass FileLayout(...) or one of {', '.join(KINDS)}, auto")
    old, new = overrides.pop("label_separator"), overrides.get("label_sep")
    if old is not None and new is not None and old != new:
        raise LabeldistError(f"label_separator={old!r} and label_sep={new!r} disagree", "pass only label_sep")
    if new is None and old is not None:
        overrides["label_sep"] = old
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(base, **changes) if changes else base


def _file_label_set(path: Path, labels: Sequence[str], multilabel: bool) -> LabelSet:
    """LabelSet of labels taken from the file; its errors name the file."""
    try:
        return LabelSet(tuple(labels), multilabel=multilabel)
    except LabeldistError as e:
        raise LabeldistError(f"{path}: label set from the file: {e}") from None


def _seen_label_set(rd: _Reader, items: dict[str, _Item], multilabel: bool) -> LabelSet:
    seen = {normalize_label(l) for it in items.values() for _, _, ls in it.votes for l in ls}
    seen.discard(NONE_LABEL if multilabel else "")
    if not seen:
        raise LabeldistError(f"{rd.path}: no labels found", "check the labels column or pass labels=... (CLI: --labels)")
    odd = sorted(seen & set(MISSING_MARKERS))
    if odd:
        loc = next(loc for it in items.values() for loc, _, ls in it.votes if odd[0] in map(normalize_label, ls))
        raise LabeldistError(
            f"{rd.path} {loc}: label {odd[0]!r} looks like a missing value, not a label",
            f"leave the cell empty and pick {how_to_set('empty_labels')}, or, if it is a label, declare the label set "
            "with labels=... (CLI: --labels)")
    long = max(seen, key=len)
    if len(long) > MAX_LABEL_CHARS:
        loc = next(loc for it in items.values() for loc, _, ls in it.votes if long in map(normalize_label, ls))
        raise LabeldistError(
            f"{rd.path} {loc}: label {short(long)} is {len(long)} characters long, so the cell is probably not a label",
            f"check which column holds the labels ({how_to_set('labels_column', 'NAME')}), or declare the label set "
            "with labels=... (CLI: --labels)")
    return _file_label_set(rd.path, sorted(seen), multilabel)


def _id_text_split(rd: _Reader, loc, row, has_split: bool, default_split: str) -> tuple[str | None, str, str]:
    lay = rd.layout
    try:
        key = name_cell(row.get(lay.id_column), "id")
    except ValueError as e:
        rd.bad(loc, str(e), f"write the id as a string or number in column {lay.id_column!r}")
        return None, "", ""
    if key is None:
        problem = "empty id" if lay.id_column in row else f"no id (the row has no {lay.id_column!r} field)"
        rd.bad(loc, problem, "fill in the id or remove the row")
        return None, "", ""
    try:
        text = text_cell(row.get(lay.text_column))
    except ValueError as e:
        rd.bad(loc, f"text for id {short(key)} {e}", f"write the text as a string in column {lay.text_column!r}")
        return None, "", ""
    if text is None:
        absent = "no" if lay.text_column not in row else "empty"
        rd.bad(loc, f"{absent} text for id {short(key)}", "fill in the text or remove the row")
        return None, "", ""
    split = default_split
    if has_split:
        try:
            name = name_cell(row.get(lay.split_column), "split name")
        except ValueError as e:
            rd.bad(loc, f"item {short(key)}: {e}", "write a split name such as train or test")
            return None, "", ""
        split = default_split if name is None else normalize_label(name)
    return key, text, split


def _annotator_row(rd: _Reader, loc, row, key, item) -> bool:
    try:
        annotator = name_cell(row.get(rd.layout.annotator_column), "annotator id")
    except ValueError as e:
        rd.bad(loc, f"item {short(key)}: {e}", "write the annotator id as a string or number")
        return False
    if annotator is None:
        rd.bad(loc, f"empty annotator id for item {short(key)}", "fill in the annotator column")
        return False
    for vloc, a, _ in item.votes:
        if a == annotator:
            rd.bad(loc, f"annotator {short(annotator)} labelled item {short(key)} twice (first at {vloc})",
                   "keep one row per (item, annotator)")
            return False
    return _labels_cell(rd, loc, row.get(rd.layout.labels_column), key, annotator, item)


def _annotation_list(rd: _Reader, loc, value, key, item) -> bool:
    """An ``annotations`` cell: a JSON list of label lists, or an object annotator -> labels."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            rd.bad(loc, f"malformed JSON in annotations of item {short(key)} ({e.msg})", "fix the JSON")
            return False
        except RecursionError:
            rd.bad(loc, f"annotations of item {short(key)} are nested too deeply", 'write e.g. [["joy"], ["joy", "anger"], []]')
            return False
    if is_missing(value) or (isinstance(value, (list, tuple, dict)) and len(value) == 0):
        rd.bad(loc, f"item {short(key)} has no annotators", "add its annotators' label lists")
        return False
    if isinstance(value, dict):
        pairs = [(str(a), v) for a, v in value.items()]
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        pairs = [(f"#{i}", v) for i, v in enumerate(value, start=1)]
    else:
        rd.bad(loc, f"annotations of item {short(key)} must be a JSON list of label lists, got {short(value)}",
               'write e.g. [["joy"], ["joy", "anger"], []]')
        return False
    before = len(item.votes)
    for annotator, labels in pairs:
        if not _labels_cell(rd, loc, labels, key, annotator, item):
            del item.votes[before:]
            return False
    return True


def _labels_cell(rd: _Reader, loc, value, key, annotator, item) -> bool:
    """Parse one annotator's (or, for ``hard``, the item's) label cell into ``item.votes``.

    Returns False if the cell was bad (reported). An empty cell follows ``empty_labels``:
    ``none`` adds an empty vote, ``missing`` adds nothing, ``error`` reports it.
    """
    sep = rd.layout.label_sep
    try:
        labels = label_cell(value, sep)
    except ValueError as e:
        rd.bad(loc, f"item {short(key)}: {e}", f'write a JSON list (["a", "b"]) or labels joined by {sep!r}')
        return False
    if labels is None:
        policy = rd.layout.empty_labels
        if policy == "error":
            who = f"item {short(key)}" if annotator == "aggregate" else f"annotator {short(annotator)} for item {short(key)}"
            rd.bad(loc, f"no labels for {who} (empty cell)",
                   "write the labels or 'none'; or say what an empty cell means: "
                   f"{how_to_set('empty_labels', 'none')} = chose no label, {how_to_set('empty_labels', 'missing')} = no answer")
            return False
        rd.n_empty += 1
        if policy == "missing":
            return True
        labels = []
    item.votes.append((loc, annotator, labels))
    return True


def _build_example(rd: _Reader, key, item: _Item, label_set: LabelSet) -> Example | None:
    if rd.layout.kind == "fractions":
        return fraction_example(rd, key, item, label_set)
    anns, annotators = [], []
    for loc, annotator, labs in item.votes:
        labs = [normalize_label(l) for l in labs]
        problem = _check_labels(labs, label_set)
        if problem:
            rd.bad(loc, f"item {short(key)}, annotator {short(annotator)}: {problem}",
                   "fix the label, declare it with labels=... (CLI: --labels)" + _separator_hint(rd, labs))
            continue
        anns.append([l for l in labs if not (label_set.multilabel and l == NONE_LABEL)])
        annotators.append(annotator)
    if not anns:
        return None  # every row of the item was skipped; counted in the description
    meta = {"source_loc": item.loc}
    if rd.layout.kind == "hard":
        return aggregate_example(key, item.text, anns[0], label_set, split=item.split, meta=meta)
    meta["annotators"] = annotators
    return annotator_example(key, item.text, anns, label_set, split=item.split, meta=meta)


def _separator_hint(rd: _Reader, labs: list[str]) -> str:
    """``joy;anger`` read as one label usually means another separator: name the flag."""
    for sep in (";", "|", "/", ","):
        if sep != rd.layout.label_sep and any(sep in l for l in labs):
            return f", or if labels are joined by {sep!r}, pass {how_to_set('label_sep', sep)}"
    return ""


def _check_labels(labs: list[str], label_set: LabelSet) -> str | None:
    if label_set.multilabel:
        if NONE_LABEL in labs and len(labs) > 1:
            return f"'none' combined with other labels {short(labs)}"
        unknown = [l for l in labs if l != NONE_LABEL and l not in label_set.labels]
    else:
        if len(labs) != 1:
            return f"single-label data needs exactly one label per annotator, got {short(labs) if labs else 'none'}"
        unknown = [l for l in labs if l not in label_set.labels]
    if unknown:
        return f"label(s) {', '.join(map(short, unknown))} not in the label set ({', '.join(label_set.labels)})"
    if len(set(labs)) != len(labs):
        return f"label listed twice in {short(labs)}"
    return None
