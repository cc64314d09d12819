"""Read annotated text files (CSV, TSV, JSONL, Parquet) into a :class:`~labeldist.records.Dataset`.

Four layouts (``layout=``):

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

``layout="auto"`` picks the first that fits the columns: an ``annotator`` column means
``annotator_rows``, ``annotations`` means ``annotation_lists``, ``labels`` means ``hard``,
anything else ``fractions``.

A label list is a JSON list (``["joy", "anger"]``) or a comma-separated string
(``joy,anger``). In multi-label files ``none`` or ``[]`` is an annotator's explicit vote for
no label; an empty cell is a *missing* answer and is an error (or skipped). Single-label
files need exactly one label per annotator. The label set is ``labels=`` if given, else
the sorted set of labels seen (the fraction columns for ``fractions``); it is then fixed.

Human distribution (paper eq. 1): ``q_l = |{a : l in labels_a}| / n_annotators``, computed by
:meth:`HumanDistribution.from_annotations`. One annotator gives kind ``single_annotator``;
the ``hard`` layout gives ``aggregate_only`` (0/1 vectors, never passed off as
distributions); ``fractions`` gives kind ``fractions``. Single-label fraction rows must sum
to 1 within 0.02 (rounded source values) and are then renormalised to sum to exactly 1.

Gold labels: multi-label ``{l : q_l >= 0.5}`` (a 50 % tie counts as positive); single-label
the unique plurality label, or ``None`` if the top vote share is tied. ``hard`` rows use
their labels as given.

Bad rows (empty ids or texts, unknown labels, duplicate ids with conflicting texts,
annotators without labels, malformed JSON lines, undecodable bytes) raise a one-line
:class:`LabeldistError` naming file and line; with ``skip_invalid=True`` they are skipped
and listed in ``Dataset.skipped`` (count also in ``Dataset.description``). Missing columns
always raise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from labeldist.data._common import RowProblems, annotator_example, aggregate_example, finish_splits
from labeldist.data._common import majority_multilabel, plurality_single
from labeldist.data._rows import detect_format, is_missing, parse_label_list, read_rows
from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, Dataset, Example, HumanDistribution, LabelSet, normalize_label

LAYOUTS = ("annotator_rows", "annotation_lists", "fractions", "hard")


@dataclass
class _Item:
    text: str
    loc: str
    split: str
    votes: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (loc, annotator, labels)
    fractions: dict[str, Any] | None = None
    n_annotators: Any = None


def read_annotated_file(
    path: str | Path,
    *,
    layout: str = "auto",
    labels: str | Sequence[str] | None = None,
    multilabel: bool = True,
    id_column: str = "id",
    text_column: str = "text",
    labels_column: str = "labels",
    annotator_column: str = "annotator",
    annotations_column: str = "annotations",
    split_column: str = "split",
    n_annotators_column: str = "n_annotators",
    label_columns: Sequence[str] | None = None,
    label_separator: str = ",",
    default_split: str = "test",
    name: str | None = None,
    file_format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
) -> Dataset:
    """Read one annotated file (see the module docstring for layouts and rules).

    Rows go to the split named in ``split_column`` when the file has that column, else
    to ``default_split``. Returns a Dataset named ``name`` (default: the file's stem).
    """
    path = Path(path)
    fmt = detect_format(path, file_format)
    problems = RowProblems(skip_invalid)
    header, rows = read_rows(path, fmt, encoding=encoding, problems=problems)
    columns = header if header is not None else list(dict.fromkeys(k for _, r in rows for k in r))

    if layout == "auto":
        layout = (
            "annotator_rows" if annotator_column in columns
            else "annotation_lists" if annotations_column in columns
            else "hard" if labels_column in columns
            else "fractions"
        )
    if layout not in LAYOUTS:
        raise LabeldistError(f"unknown layout {layout!r}", f"use one of {', '.join(LAYOUTS)} or auto")

    label_set = LabelSet.parse(labels, multilabel=multilabel) if labels is not None else None
    frac_cols: dict[str, str] = {}
    if layout == "fractions":
        frac_cols = _fraction_columns(path, columns, label_set, label_columns, multilabel,
                                      exclude={id_column, text_column, split_column, n_annotators_column})
        if label_set is None:
            label_set = LabelSet(tuple(frac_cols), multilabel=multilabel)

    needed = {"annotator_rows": [annotator_column, labels_column], "annotation_lists": [annotations_column],
              "hard": [labels_column], "fractions": list(frac_cols.values())}[layout]
    missing = [c for c in [id_column, text_column, *needed] if c not in columns]
    if missing:
        raise LabeldistError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))} for layout {layout!r} "
            f"(columns: {', '.join(columns) or 'none'})",
            "rename the columns (or pass id_column=, text_column=, labels_column=, annotator_column=, "
            "annotations_column=), or pick another layout (`labeldist datasets --help-layouts`)",
        )

    items: dict[str, _Item] = {}
    has_split = split_column in columns
    for loc, row in rows:
        key, text = _id_and_text(path, loc, row, id_column, text_column, problems)
        if key is None:
            continue
        split = default_split
        if has_split and not is_missing(row.get(split_column)):
            split = normalize_label(row[split_column])
        item = items.get(key)
        if item is not None and layout != "annotator_rows":
            other = "with a different text " if item.text != text else ""
            problems.bad(path, loc, f"duplicate id {key!r} {other}(first at {item.loc})",
                         "give each item one row, or use layout='annotator_rows' for one row per annotator")
            continue
        if item is not None and (item.text != text or item.split != split):
            what = "text" if item.text != text else f"split ({split!r} vs {item.split!r})"
            problems.bad(path, loc, f"id {key!r} has a different {what} than at {item.loc}",
                         "make the rows of one item identical or give different items different ids")
            continue
        if item is None:
            item = _Item(text=text, loc=loc, split=split)
        if layout == "annotator_rows":
            ok = _annotator_row(path, loc, row, key, item, annotator_column, labels_column, label_separator, problems)
        elif layout == "annotation_lists":
            ok = _annotation_list(path, loc, row[annotations_column], key, item, label_separator, problems)
        elif layout == "hard":
            ok = _labels_cell(path, loc, row.get(labels_column), key, "aggregate", item, label_separator, problems,
                              missing_fix="write the item's labels, or 'none' / [] if it has no label")
        else:
            item.fractions = {lab: row.get(col) for lab, col in frac_cols.items()}
            item.n_annotators = row.get(n_annotators_column)
            ok = True
        if ok and key not in items:
            items[key] = item

    if label_set is None:
        seen = {normalize_label(l) for it in items.values() for _, _, ls in it.votes for l in ls}
        seen.discard(NONE_LABEL if multilabel else "")
        if not seen:
            raise LabeldistError(f"{path}: no labels found", "check the labels column or pass labels=...")
        label_set = LabelSet(tuple(sorted(seen)), multilabel=multilabel)

    splits: dict[str, list[Example]] = {}
    n_lost = 0
    for key, item in items.items():
        ex = _build_example(path, key, item, layout, label_set, problems)
        if ex is None:
            n_lost += 1
        else:
            splits.setdefault(item.split, []).append(ex)
    n = sum(len(v) for v in splits.values())
    if n == 0:
        raise LabeldistError(f"{path}: no valid items", "check the file against the layout described in the docs")
    desc = f"{path.name}: {n} items read as layout {layout!r} ({fmt}).{problems.summary()}"
    if n_lost:
        desc += f" {n_lost} item(s) had all their rows skipped and are not in the dataset."
    return Dataset(name or path.stem, label_set, finish_splits(splits), desc, tuple(problems.skipped))


def _fraction_columns(path, columns, label_set, label_columns, multilabel, exclude) -> dict[str, str]:
    """label name -> column name for the ``fractions`` layout."""
    if label_columns is not None:
        cols = list(label_columns)
    elif label_set is not None:
        by_norm = {normalize_label(c): c for c in columns}
        missing = [l for l in label_set.labels if l not in by_norm]
        if missing:
            raise LabeldistError(f"{path}: no fraction column for label(s) {', '.join(missing)}",
                                 "name the columns after the labels or pass label_columns=...")
        cols = [by_norm[l] for l in label_set.labels]
    else:
        cols = [c for c in columns if c not in exclude]
        if not cols:
            raise LabeldistError(f"{path}: no label columns found", "add one fraction column per label")
    out = {normalize_label(c): c for c in cols}
    if label_set is not None and tuple(out) != label_set.labels:
        raise LabeldistError(f"{path}: label_columns {cols} do not match labels {list(label_set.labels)}",
                             "pass the same labels in the same order")
    return out


def _id_and_text(path, loc, row, id_column, text_column, problems) -> tuple[str | None, str]:
    raw_id, text = row.get(id_column), row.get(text_column)
    if is_missing(raw_id):
        problems.bad(path, loc, "empty id", "fill in the id or remove the row")
        return None, ""
    key = str(raw_id).strip()
    if not isinstance(text, str) or not text.strip():
        problems.bad(path, loc, f"empty text for id {key!r}", "fill in the text or remove the row")
        return None, ""
    return key, text


def _annotator_row(path, loc, row, key, item, annotator_column, labels_column, sep, problems) -> bool:
    annotator = row.get(annotator_column)
    if is_missing(annotator):
        problems.bad(path, loc, f"empty annotator id for item {key!r}", "fill in the annotator column")
        return False
    annotator = str(annotator).strip()
    for vloc, a, _ in item.votes:
        if a == annotator:
            problems.bad(path, loc, f"annotator {annotator!r} labelled item {key!r} twice (first at {vloc})",
                         "keep one row per (item, annotator)")
            return False
    return _labels_cell(path, loc, row.get(labels_column), key, annotator, item, sep, problems)


def _annotation_list(path, loc, value, key, item, sep, problems) -> bool:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip()[:1] in ("[", "{") else value
        except json.JSONDecodeError as e:
            problems.bad(path, loc, f"malformed JSON in annotations of item {key!r} ({e.msg})", "fix the JSON")
            return False
    if is_missing(value) or (hasattr(value, "__len__") and len(value) == 0):
        problems.bad(path, loc, f"item {key!r} has no annotators", "add its annotators' label lists")
        return False
    if isinstance(value, dict):
        pairs = [(str(a), v) for a, v in value.items()]
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        pairs = [(f"#{i}", v) for i, v in enumerate(value, start=1)]
    else:
        problems.bad(path, loc, f"annotations of item {key!r} must be a JSON list of label lists, got {value!r}",
                     'write e.g. [["joy"], ["joy", "anger"], []]')
        return False
    before = len(item.votes)
    for annotator, labels in pairs:
        if not _labels_cell(path, loc, labels, key, annotator, item, sep, problems):
            del item.votes[before:]
            return False
    return True


def _labels_cell(path, loc, value, key, annotator, item, sep, problems, *, missing_fix=None) -> bool:
    """Parse one annotator's label list and append it to ``item.votes``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip()):
        who = f"item {key!r}" if annotator == "aggregate" else f"annotator {annotator!r} for item {key!r}"
        problems.bad(path, loc, f"no labels for {who}",
                     missing_fix or "write the labels, or 'none' / [] if the annotator chose no label")
        return False
    try:
        labels = parse_label_list(value, sep)
    except ValueError as e:
        problems.bad(path, loc, f"item {key!r}: {e}", 'write a JSON list (["a", "b"]) or a comma-separated string')
        return False
    item.votes.append((loc, annotator, labels))
    return True


def _build_example(path, key, item: _Item, layout, label_set: LabelSet, problems) -> Example | None:
    if layout == "fractions":
        return _fraction_example(path, key, item, label_set, problems)
    anns, annotators = [], []
    for loc, annotator, labs in item.votes:
        labs = [normalize_label(l) for l in labs]
        problem = _check_labels(labs, label_set)
        if problem:
            problems.bad(path, loc, f"item {key!r}, annotator {annotator!r}: {problem}",
                         "fix the label, declare it with labels=... (CLI: --labels)")
            continue
        anns.append([l for l in labs if not (label_set.multilabel and l == NONE_LABEL)])
        annotators.append(annotator)
    if not anns:
        return None  # every row of the item was skipped; counted in the description
    meta = {"source_loc": item.loc}
    if layout == "hard":
        return aggregate_example(key, item.text, anns[0], label_set, split=item.split, meta=meta)
    meta["annotators"] = annotators
    return annotator_example(key, item.text, anns, label_set, split=item.split, meta=meta)


def _check_labels(labs: list[str], label_set: LabelSet) -> str | None:
    if label_set.multilabel:
        if NONE_LABEL in labs and len(labs) > 1:
            return f"'none' combined with other labels {labs}"
        unknown = [l for l in labs if l != NONE_LABEL and l not in label_set.labels]
    else:
        if len(labs) != 1:
            return f"single-label data needs exactly one label per annotator, got {labs or 'none'}"
        unknown = [l for l in labs if l not in label_set.labels]
    if unknown:
        return f"label(s) {', '.join(map(repr, unknown))} not in the label set ({', '.join(label_set.labels)})"
    if len(set(labs)) != len(labs):
        return f"label listed twice in {labs}"
    return None


def _fraction_example(path, key, item: _Item, label_set: LabelSet, problems) -> Example | None:
    probs = []
    for lab, raw in (item.fractions or {}).items():
        try:
            p = float(raw)
        except (TypeError, ValueError):
            p = float("nan")
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            problems.bad(path, item.loc, f"fraction for label {lab!r} of item {key!r} is {raw!r}, not a number in [0, 1]",
                         "write the fraction of annotators who chose the label")
            return None
        probs.append(p)
    if not label_set.multilabel:
        total = sum(probs)
        if abs(total - 1.0) > 0.02:
            problems.bad(path, item.loc, f"single-label fractions of item {key!r} sum to {total:.3f}, not 1",
                         "fix the fractions or read the file with multilabel=True")
            return None
        probs = [p / total for p in probs]
    n = None
    if not is_missing(item.n_annotators):
        try:
            n = int(float(item.n_annotators))
        except (TypeError, ValueError):
            problems.bad(path, item.loc, f"n_annotators of item {key!r} is {item.n_annotators!r}", "write a whole number")
            return None
    human = HumanDistribution(tuple(probs), n, "fractions")
    gold = majority_multilabel(probs, label_set) if label_set.multilabel else plurality_single(probs, label_set)
    return Example(key, item.text, gold=gold, human=human, split=item.split, meta={"source_loc": item.loc})
