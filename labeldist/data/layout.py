"""How an annotated file is laid out: which column holds what, how labels are joined, what an empty cell means.

:class:`FileLayout` is the one place those choices live; :func:`~labeldist.data.files.read_annotated_file`
takes it as ``layout=`` and the CLI builds it from ``--id-column``, ``--text-column``,
``--labels-column``, ``--annotator-column``, ``--label-sep`` and ``--empty-labels``
(:mod:`labeldist.cli.data_options`). :data:`EXAMPLES` are the worked examples printed by
``labeldist datasets --help-layouts``; the tests read every one of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from labeldist.errors import LabeldistError

KINDS = ("annotator_rows", "annotation_lists", "fractions", "hard")
EMPTY_LABELS = ("error", "none", "missing")

# FileLayout field -> CLI flag; fields without a flag are API-only.
FLAGS = {
    "id_column": "--id-column",
    "text_column": "--text-column",
    "labels_column": "--labels-column",
    "annotator_column": "--annotator-column",
    "label_sep": "--label-sep",
    "empty_labels": "--empty-labels",
}
# What each column holds, for error messages.
ROLES = {
    "id_column": "item ids",
    "text_column": "texts",
    "labels_column": "labels",
    "annotator_column": "annotator ids",
    "annotations_column": "per-annotator label lists",
    "split_column": "split names",
    "n_annotators_column": "annotator counts",
}
COLUMN_FIELDS = tuple(ROLES)


@dataclass(frozen=True)
class FileLayout:
    """Column names and cell conventions of one annotated file.

    Parameters
    ----------
    kind : str
        ``auto`` (default) or one of :data:`KINDS`; ``auto`` picks ``annotator_rows`` if the
        annotator column exists, else ``annotation_lists`` if the annotations column exists,
        else ``hard`` if the labels column exists, else ``fractions``.
    id_column, text_column, labels_column, annotator_column, annotations_column, split_column, n_annotators_column : str
        Column (JSON key) names; defaults ``id``, ``text``, ``labels``, ``annotator``,
        ``annotations``, ``split``, ``n_annotators``. A column set to anything but its default
        must exist in the file (else a :class:`LabeldistError` lists the file's columns).
        ``split`` and ``n_annotators`` are optional under their default names.
    label_columns : tuple of str or None
        ``fractions`` only: the fraction columns, in label order (default: every other column).
    label_sep : str
        Any non-empty string joining several labels in one cell (default ``,``, e.g.
        ``joy,anger``; ``;``, ``|`` or `` && `` work the same). A cell starting with ``[``
        is always read as a JSON list instead.
    empty_labels : {"error", "none", "missing"}
        What an empty label cell (blank, ``null``, NaN, or only separators) means.
        ``error`` (default, as before this option existed): stop, naming the line, or skip
        the row under ``skip_invalid``. ``none``: the annotator explicitly chose no label
        (multi-label only). ``missing``: the annotator gave no answer; the answer is left
        out of the item's distribution and counted in ``Dataset.description``.
        ``none`` / ``[]`` in a cell are always an explicit no-label answer.
    """

    kind: str = "auto"
    id_column: str = "id"
    text_column: str = "text"
    labels_column: str = "labels"
    annotator_column: str = "annotator"
    annotations_column: str = "annotations"
    split_column: str = "split"
    n_annotators_column: str = "n_annotators"
    label_columns: tuple[str, ...] | None = None
    label_sep: str = ","
    empty_labels: str = "error"

    def __post_init__(self) -> None:
        if self.kind not in ("auto", *KINDS):
            raise LabeldistError(f"unknown layout {self.kind!r}", f"use one of {', '.join(KINDS)} or auto")
        for name in COLUMN_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise LabeldistError(f"{how_to_set(name)} is {value!r}, not a column name", f"pass a column name to {how_to_set(name)}")
            object.__setattr__(self, name, value.strip())
        if self.label_columns is not None:
            cols = (self.label_columns,) if isinstance(self.label_columns, str) else tuple(self.label_columns)
            if not cols or not all(isinstance(c, str) and c.strip() for c in cols):
                raise LabeldistError(f"label_columns={self.label_columns!r} is not a list of column names",
                                     "pass the fraction columns, e.g. label_columns=['joy', 'anger']")
            object.__setattr__(self, "label_columns", cols)
        if not isinstance(self.label_sep, str) or not self.label_sep:
            raise LabeldistError(f"{how_to_set('label_sep')} is {self.label_sep!r}, not a separator",
                                 f"pass the string that joins labels in a cell, e.g. {how_to_set('label_sep', ';')}")
        if self.empty_labels not in EMPTY_LABELS:
            raise LabeldistError(f"{how_to_set('empty_labels')} is {self.empty_labels!r}",
                                 f"use one of {', '.join(EMPTY_LABELS)} (see `labeldist datasets --help-layouts`)")
        # One column cannot hold two things (e.g. --labels-column text).
        used: dict[str, str] = {}
        for name in ("id_column", "text_column", "labels_column", "annotator_column", "annotations_column"):
            col = getattr(self, name)
            if col in used:
                raise LabeldistError(f"{how_to_set(used[col])} and {how_to_set(name)} both name column {col!r}",
                                     "give each a different column")
            used[col] = name

    def to_dict(self) -> dict:
        """The fields that differ from the defaults (``{}`` for the default layout), JSON-ready."""
        default = FileLayout()
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def explicit_columns(self) -> dict[str, str]:
        """The column fields set to something other than their default: field -> column."""
        default = FileLayout()
        return {f: getattr(self, f) for f in COLUMN_FIELDS if getattr(self, f) != getattr(default, f)}

    def check_columns(self, path: Path | str, columns: Sequence[str], needed: Sequence[str]) -> None:
        """Raise if an explicitly named column, or a needed one (field names), is not in ``columns``.

        The message lists the file's columns and, per missing column, the flag that names it
        (with a guess such as ``--id-column item_id`` when a column looks right).
        """
        explicit = self.explicit_columns()
        missing = [f for f in dict.fromkeys([*explicit, *needed]) if getattr(self, f) not in columns]
        if not missing:
            return
        taken = {getattr(self, f) for f in COLUMN_FIELDS if getattr(self, f) in columns}
        parts, fixes = [], []
        for f in missing:
            col = getattr(self, f)
            how = f"set by {how_to_set(f)}" if f in explicit else f"for the {ROLES[f]}"
            parts.append(f"{col!r} ({how})")
            guess = _guess_column(f, columns, taken)
            fixes.append(how_to_set(f, guess) if guess else how_to_set(f, "NAME"))
        kind = f" for layout {self.kind!r}" if self.kind != "auto" else ""
        raise LabeldistError(
            f"{path}: missing column(s) {', '.join(parts)}{kind} (columns: {list_columns(columns)})",
            f"pass {' and '.join(fixes)}, or rename the columns (layouts: `labeldist datasets --help-layouts`)",
        )


def list_columns(columns: Sequence[str], limit: int = 20) -> str:
    """The file's column names for a message: each cut to 40 characters, at most ``limit`` of them.

    A file read with the wrong format (JSON lines as CSV) has "columns" of any length.
    """
    names = [c if len(c) <= 40 else c[:30] + f"...({len(c)} chars)" for c in map(str, columns[:limit])]
    more = f", ... ({len(columns) - limit} more)" if len(columns) > limit else ""
    return (", ".join(names) + more) or "none"


def how_to_set(name: str, value: str | None = None) -> str:
    """How to set a FileLayout field: ``id_column='x' (CLI: --id-column x)``, or just the API name."""
    api = name if value is None else f"{name}={value!r}"
    flag = FLAGS.get(name)
    if flag is None:
        return api
    return f"{api} (CLI: {flag}{'' if value is None else ' ' + _shell(value)})"


def _shell(value: str) -> str:
    return value if value.replace("_", "").replace("-", "").isalnum() else "'" + value.replace("'", "'\\''") + "'"


def _guess_column(field: str, columns: Sequence[str], taken: set[str]) -> str | None:
    """A column that probably holds what ``field`` names: contains its default name, or is close to it."""
    base = getattr(FileLayout(), field)
    # Only plausible names: a "column" that is a whole JSON line (wrong format) is no guess.
    free = [c for c in columns if c not in taken and 0 < len(c) <= 40 and not set(c) & set('"{}[]\n')]
    stem = base.rstrip("s")  # labels -> label, annotations -> annotation
    for c in free:
        if stem in c.lower():
            return c
    close = difflib.get_close_matches(base, free, n=1, cutoff=0.6)
    return close[0] if close else None


@dataclass(frozen=True)
class LayoutExample:
    """One worked example for ``--help-layouts``: a file (header + 3 rows) and the command reading it."""

    kind: str
    filename: str
    content: str
    command: str
    note: str


EXAMPLES = (
    LayoutExample(
        "annotator_rows", "votes.csv",
        'id,text,annotator,labels\n1,I love it,a,joy\n1,I love it,b,"joy,anger"\n1,I love it,c,none\n',
        "labeldist run --data votes.csv --labels anger,joy,sadness --shots 0",
        "one row per (item, annotator); 'none' or [] = the annotator chose no label. q = (1/3, 2/3, 0).",
    ),
    LayoutExample(
        "annotation_lists", "lists.jsonl",
        '{"id": "1", "text": "I love it", "annotations": [["joy"], ["joy", "anger"], []]}\n'
        '{"id": "2", "text": "So sad and angry", "annotations": [["sadness", "anger"], ["anger"]]}\n'
        '{"id": "3", "text": "Fine.", "annotations": {"ann7": ["joy"], "ann9": "none"}}\n',
        "labeldist run --data lists.jsonl --labels anger,joy,sadness --shots 0",
        "one row per item (JSONL has no header line); a list of label lists, or an object annotator -> labels.",
    ),
    LayoutExample(
        "fractions", "fractions.csv",
        "id,text,anger,joy,sadness,n_annotators\n1,I love it,0.33,0.67,0,3\n2,So sad and angry,1,0,0.5,2\n"
        "3,Fine.,0,1,0,1\n",
        "labeldist run --data fractions.csv --shots 0",
        "one row per item, one column per label holding the share of annotators who chose it.",
    ),
    LayoutExample(
        "hard", "hard.tsv",
        "id\ttext\tlabels\n1\tI love it\tjoy\n2\tSo sad and angry\tanger,sadness\n3\tFine.\tnone\n",
        "labeldist run --data hard.tsv --labels anger,joy,sadness --shots 0",
        "one row per item with its aggregate labels only (no distribution: alignment metrics skip it).",
    ),
    LayoutExample(
        "annotator_rows", "export.csv",
        "item_id,comment,rater,emotions\n17,I love it,r1,joy;anger\n17,I love it,r2,joy\n17,I love it,r3,\n",
        "labeldist run --data export.csv --labels anger,joy,sadness --shots 0 --id-column item_id "
        "--text-column comment --annotator-column rater --labels-column emotions --label-sep ';' "
        "--empty-labels none",
        "other column names, labels joined by ';', an empty cell = no label (--empty-labels missing: "
        "r3 gave no answer, so q = (1/2, 1, 0) instead of (1/3, 2/3, 0)).",
    ),
)


def format_examples() -> str:
    """The text ``labeldist datasets --help-layouts`` prints after the layout rules."""
    out = ["Examples (a file, then the command that reads it):", ""]
    for ex in EXAMPLES:
        out.append(f"{ex.kind}: {ex.filename}: {ex.note}")
        out.extend("    " + line for line in ex.content.rstrip("\n").split("\n"))
        out.append(f"  $ {ex.command}")
        out.append("")
    defaults = FileLayout()
    out.append("File layout flags (run --data / --demos, classify --demos; API: read_annotated_file(..., "
               "layout=FileLayout(...))):")
    for f in fields(FileLayout):
        if f.name in FLAGS:
            out.append(f"  {FLAGS[f.name]:<20} {f.name} (default {getattr(defaults, f.name)!r})")
    return "\n".join(out)
