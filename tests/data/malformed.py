"""Hypothesis strategies for malformed annotated files, in every layout and format.

A case is a *valid* generated file (``tables()``: 2-4 items, 1-3 annotators each, any of the
four layouts, CSV/TSV/JSONL/Parquet, default or renamed columns, any label separator,
sometimes one 150k-250k-character text) with exactly one defect injected (``DEFECTS``).
Each defect states the regex the error message must match, so a test can check that the
message names *this* problem. ``valid_cases()`` yields the same files without a defect,
with the distributions they must give, to keep the generator honest.

Reusable for the CLI campaign: ``Case.cli_args()`` gives the same options as flags, and
``bad_flag_cases()`` generates bad flag values and combinations.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from labeldist.data.layout import FileLayout

LABELS = ("anger", "joy", "sadness")
FORMATS = ("csv", "tsv", "jsonl", "parquet")
KINDS = ("annotator_rows", "annotation_lists", "fractions", "hard")
TEXT_FORMATS = ("csv", "tsv", "jsonl")
RENAMED = {"id": "item_id", "text": "comment", "labels": "emotions", "annotator": "rater"}


@dataclass
class Table:
    """A generated file before rendering: rows of Python values plus how to read it."""

    fmt: str
    kind: str
    names: dict[str, str]  # role (id, text, labels, annotator) -> column name
    columns: list[str]
    rows: list[dict[str, Any]]
    votes: dict[str, tuple[str, list[list[str]]]]  # id -> (text, per-annotator labels): the truth
    labels: tuple[str, ...] | None
    multilabel: bool
    label_sep: str
    empty_labels: str
    jsonl_lists: bool  # JSONL label cells as JSON lists (else joined strings)
    newline: str = "\n"
    encoding: str = "utf-8"
    layout_changes: dict[str, str] = field(default_factory=dict)
    raw_fields: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, column) -> CSV text as written
    row_extra: dict[int, str] = field(default_factory=dict)  # row -> "append" / "drop" a field (CSV/TSV)
    post: Callable[[bytes], bytes] | None = None
    filename: str | None = None
    base_columns: tuple[str, ...] = ()

    def layout(self) -> FileLayout:
        # Name only the columns the valid file has (a renamed column it lacks would itself be an error).
        kw = {f"{role}_column": col for role, col in self.names.items() if col != role and col in self.base_columns}
        return FileLayout(label_sep=self.label_sep, empty_labels=self.empty_labels, **{**kw, **self.layout_changes})


@dataclass(frozen=True)
class Case:
    """One generated file and how to read it; ``expect`` is the regex its error must match (None: valid)."""

    filename: str
    content: bytes
    defect: str | None
    expect: str | None
    labels: tuple[str, ...] | None
    multilabel: bool
    layout: FileLayout
    fmt: str
    kind: str
    votes: dict | None = None

    def key(self) -> str:
        """Identity of the case, for counting distinct cases."""
        h = hashlib.sha256(self.content)
        h.update(repr((self.filename, self.labels, self.multilabel, self.layout)).encode())
        return h.hexdigest()

    def write(self, folder: Path) -> Path:
        path = Path(folder) / self.filename
        path.write_bytes(self.content)
        return path

    def read_kwargs(self) -> dict:
        return {"labels": self.labels, "multilabel": self.multilabel, "layout": self.layout}

    def cli_args(self) -> list[str]:
        """The same options as ``labeldist run`` flags (every generated layout has flags)."""
        args = ["--labels", ",".join(self.labels)] if self.labels else []
        if not self.multilabel:
            args.append("--single-label")
        defaults = FileLayout()
        for name, flag in (("id_column", "--id-column"), ("text_column", "--text-column"),
                           ("labels_column", "--labels-column"), ("annotator_column", "--annotator-column"),
                           ("label_sep", "--label-sep"), ("empty_labels", "--empty-labels")):
            value = getattr(self.layout, name)
            if value != getattr(defaults, name):
                args.append(f"{flag}={value}")  # '=' form: a separator may start with '-'
        return args


# ---------------------------------------------------------------- valid files

texts = st.text(alphabet="abc xyz,;|\"'é\n", min_size=1, max_size=16).filter(lambda t: t.strip())


@st.composite
def tables(draw, formats=FORMATS, kinds=KINDS, multilabel=None) -> Table:
    fmt = draw(st.sampled_from(formats))
    kind = draw(st.sampled_from(kinds))
    if multilabel is None:
        multilabel = True if kind in ("annotation_lists", "hard") else draw(st.booleans())
    names = dict(RENAMED) if draw(st.booleans()) else {r: r for r in RENAMED}
    sep = draw(st.sampled_from([",", ";", "|", " && "])) if kind in ("annotator_rows", "hard") else ","
    n_items = draw(st.integers(2, 4))
    huge = draw(st.integers(0, 7)) == 0  # one item with a 150k-250k-character text, now and then
    label_lists = (st.lists(st.sampled_from(LABELS), unique=True, max_size=3) if multilabel
                   else st.sampled_from(LABELS).map(lambda l: [l]))
    votes: dict[str, tuple[str, list[list[str]]]] = {}
    for i in range(n_items):
        text = draw(texts)
        if huge and i == 0:
            n = draw(st.integers(150_000, 250_000))
            text = ("long text, with \"quotes\" and more; " * (n // 36 + 1))[:n]
        anns = [draw(label_lists) for _ in range(draw(st.integers(1, 3)))]
        votes[f"i{i}"] = (text, anns)
    first = votes["i0"][1][0]
    if not first:
        first.append("joy")  # at least one label in the file, so the label set can be inferred
    if kind == "hard":  # one aggregate label list per item
        votes = {k: (t, [anns[0]]) for k, (t, anns) in votes.items()}
    labels = LABELS if draw(st.booleans()) or kind == "fractions" and not multilabel else None
    empty = draw(st.sampled_from(["error", "missing"] + (["none"] if multilabel else [])))
    t = Table(fmt, kind, names, [], [], votes, labels, multilabel, sep, empty, draw(st.booleans()),
              newline=draw(st.sampled_from(["\n", "\r\n"])))
    _fill_rows(t)
    return t


def _fill_rows(t: Table) -> None:
    n = t.names
    if t.kind == "annotator_rows":
        t.columns = [n["id"], n["text"], n["annotator"], n["labels"]]
        t.rows = [{n["id"]: k, n["text"]: text, n["annotator"]: f"r{j}", n["labels"]: labs}
                  for k, (text, anns) in t.votes.items() for j, labs in enumerate(anns)]
    elif t.kind == "hard":
        t.columns = [n["id"], n["text"], n["labels"]]
        t.rows = [{n["id"]: k, n["text"]: text, n["labels"]: anns[0]} for k, (text, anns) in t.votes.items()]
    elif t.kind == "annotation_lists":
        t.columns = [n["id"], n["text"], "annotations"]
        t.rows = [{n["id"]: k, n["text"]: text, "annotations": anns} for k, (text, anns) in t.votes.items()]
    else:
        t.columns = [n["id"], n["text"], *LABELS, "n_annotators"]
        t.rows = [{n["id"]: k, n["text"]: text, **dict(zip(LABELS, _q(anns))), "n_annotators": len(anns)}
                  for k, (text, anns) in t.votes.items()]
    t.base_columns = tuple(t.columns)


def _q(anns: list[list[str]]) -> list[float]:
    """Paper eq. 1: share of annotators choosing each label."""
    return [sum(l in a for a in anns) / len(anns) for l in LABELS]


def expected_q(t: Table) -> dict[str, list[float]]:
    return {k: _q(anns) for k, (_, anns) in t.votes.items()}


# ---------------------------------------------------------------- rendering

def _label_text(t: Table, labs: Any) -> Any:
    """A label list as the file holds it (other values, e.g. injected defects, pass through)."""
    if not isinstance(labs, list) or not all(isinstance(l, str) for l in labs):
        return labs
    if t.fmt == "jsonl" and t.jsonl_lists:
        return labs
    return t.label_sep.join(labs) if labs else "none"


def _cell(t: Table, column: str, value: Any) -> Any:
    if column == t.names["labels"] and t.kind in ("annotator_rows", "hard"):
        value = _label_text(t, value)
    if t.fmt == "jsonl":
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value) if t.fmt != "parquet" else value
    if t.fmt == "parquet":
        return value if value is None or isinstance(value, (str, float)) else str(value)
    return "" if value is None else str(value)


def render(t: Table) -> bytes:
    if t.fmt == "jsonl":
        lines = [json.dumps({c: _cell(t, c, r[c]) for c in r}, ensure_ascii=False) for r in t.rows]
        text = "".join(line + t.newline for line in lines)
    elif t.fmt == "parquet":
        return _parquet(t)
    else:
        text = _delimited(t)
    data = text.encode(t.encoding)
    return t.post(data) if t.post else data


def _field(value: str, delimiter: str) -> str:
    buf = io.StringIO()
    # The line terminator decides what gets quoted: CR and LF must be, so name both.
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerow([value])
    return buf.getvalue()[:-2]


def _delimited(t: Table) -> str:
    delim = "\t" if t.fmt == "tsv" else ","
    lines = [delim.join(_field(c, delim) for c in t.columns)]
    for i, r in enumerate(t.rows):
        cells = []
        for c in t.columns:
            raw = t.raw_fields.get((i, c))
            cells.append(raw if raw is not None else _field(_cell(t, c, r.get(c)), delim))
        if t.row_extra.get(i) == "append":
            cells.append("extra")
        elif t.row_extra.get(i) == "drop":
            cells.pop()
        lines.append(delim.join(cells))
    return "".join(line + t.newline for line in lines)


def _parquet(t: Table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for c in dict.fromkeys(t.columns):
        vals = [_cell(t, c, r.get(c)) for r in t.rows]
        if any(isinstance(v, float) for v in vals) and all(v is None or isinstance(v, float) for v in vals):
            arrays[c] = pa.array(vals, type=pa.float64())
        else:  # a string column; an injected string among floats turns the floats into text
            arrays[c] = pa.array([v if v is None or isinstance(v, str) else repr(v) for v in vals], type=pa.string())
    table = pa.table(arrays)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    return t.post(data) if t.post else data


def to_case(t: Table, defect: str | None, expect: str | None) -> Case:
    ext = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "parquet": "parquet"}[t.fmt]
    return Case(t.filename or f"data.{ext}", render(t), defect, expect, t.labels, t.multilabel, t.layout(),
                t.fmt, t.kind, expected_q(t) if defect is None else None)


@st.composite
def valid_cases(draw) -> Case:
    return to_case(draw(tables()), None, None)


# ---------------------------------------------------------------- defects
# Each takes (draw, table), changes the table, and returns the regex the error must match.

def _row(draw, t: Table) -> int:
    return draw(st.integers(0, len(t.rows) - 1))


def _label_col(t: Table) -> str:
    return t.names["labels"] if t.kind in ("annotator_rows", "hard") else "annotations"


def _set_label_cell(draw, t: Table, value: Any) -> int:
    """Put ``value`` where one annotator's labels go (a list entry for annotation_lists)."""
    i = _row(draw, t)
    if t.kind == "annotation_lists":
        anns = list(t.rows[i]["annotations"])
        anns[draw(st.integers(0, len(anns) - 1))] = value
        t.rows[i]["annotations"] = anns
    else:
        t.rows[i][_label_col(t)] = value
    return i


def d_empty_id(draw, t):
    t.rows[_row(draw, t)][t.names["id"]] = draw(st.sampled_from(["", "   "] + ([None] if t.fmt != "csv" else [])))
    return r"empty id"


def d_duplicate_id(draw, t):
    i = _row(draw, t)
    row = dict(t.rows[i])
    if t.kind == "annotator_rows" and draw(st.booleans()):
        row[t.names["annotator"]] = "r_new"
        row[t.names["text"]] = row[t.names["text"]] + " (edited)"
    if t.kind != "annotator_rows" and draw(st.booleans()):
        row[t.names["text"]] = row[t.names["text"]] + " (edited)"
    t.rows.append(row)
    return r"duplicate id|labelled item .* twice|has a different text"


def d_unknown_label(draw, t):
    t.labels = LABELS
    bad = draw(st.sampled_from(["zzz", "Joyful", "anger2", "fear"]))
    labs = [bad] if not t.multilabel or draw(st.booleans()) else ["joy", bad]
    _set_label_cell(draw, t, labs)
    return r"not in the label set"


def d_empty_label(draw, t):
    t.empty_labels = "error"
    options = ["", "   "]
    if t.fmt in ("jsonl", "parquet"):
        options.append(None)
    if t.fmt == "jsonl":
        options.append(math.nan)
    if t.kind != "annotation_lists" and t.fmt != "jsonl":
        options.append(t.label_sep + " " + t.label_sep)  # only separators
    _set_label_cell(draw, t, draw(st.sampled_from(options)))
    return r"no labels for .*\(empty cell\)"


def d_nan_text_label(draw, t):
    _set_label_cell(draw, t, [draw(st.sampled_from(["NaN", "nan", "null", "NULL", "<NA>"]))])
    return r"not in the label set|looks like a missing value"


def d_non_string_label(draw, t):
    t.labels = LABELS
    bad = draw(st.sampled_from([True, False, {"joy": 1}, [["joy"]], [None], ["joy", True], ["joy", {"a": 1}],
                                7, 2.5, [""], ["joy", []]]))
    t.jsonl_lists = True  # keep [""] a JSON list (joined, it would be a plain empty cell)
    _set_label_cell(draw, t, bad)
    return r"cannot read labels|not a label list|nested value|is not a label|not in the label set"


def d_non_string_field(draw, t):
    role = draw(st.sampled_from(["id", "text"] + (["annotator"] if t.kind == "annotator_rows" else [])))
    options = [{"a": 1}, [1, 2], True, False] + ([5, 3.5, ["t"]] if role == "text" else [])
    t.rows[_row(draw, t)][t.names[role]] = draw(st.sampled_from(options))
    return r"is (a JSON object|a list|the boolean (true|false)|the number)"


def d_empty_text(draw, t):
    i = _row(draw, t)
    value = draw(st.sampled_from(["", "  ", "\n"] + ([None, "<absent>"] if t.fmt == "jsonl" else [])))
    if value == "<absent>":
        del t.rows[i][t.names["text"]]
    else:
        t.rows[i][t.names["text"]] = value
    return r"(empty|no) text for id"


def d_missing_column(draw, t):
    options = [t.names["id"], t.names["text"]] + ([t.names["labels"]] if t.kind in ("annotator_rows", "hard") else [])
    if t.kind == "annotation_lists":
        options.append("annotations")
    col = draw(st.sampled_from(options))
    t.columns.remove(col)
    for r in t.rows:
        r.pop(col, None)
    return r"missing column|no label columns found|no fraction column for label"


def d_unknown_column_flag(draw, t):
    role = draw(st.sampled_from(["id", "text", "labels", "annotator"]))
    name = draw(st.sampled_from(["col_x", "Item ID", "rater_id", "tags", "body"]))
    t.layout_changes[f"{role}_column"] = name
    return rf"missing column\(s\) '{name}' \(set by {role}_column"


def d_field_count(draw, t):
    t.row_extra[_row(draw, t)] = draw(st.sampled_from(["append", "drop"]))
    return r"fields but the header has"


def d_bad_fraction(draw, t):
    col = draw(st.sampled_from(LABELS))
    options = ["abc", "1.5", "-0.2", "nan", "inf", "", "0,5"] + ([True, None, [0.5]] if t.fmt == "jsonl" else [])
    t.rows[_row(draw, t)][col] = draw(st.sampled_from(options))
    return r"not a number in \[0, 1\]"


def d_fraction_sum(draw, t):
    r = t.rows[_row(draw, t)]
    factor = draw(st.sampled_from([0.5, 0.0]))
    for l in LABELS:
        r[l] = r[l] * factor
    return r"sum to"


def d_bad_n_annotators(draw, t):
    options = ["two", "2.5", "inf", "0", "-1"] + ([True, 2.5, {"n": 2}] if t.fmt == "jsonl" else [])
    t.rows[_row(draw, t)]["n_annotators"] = draw(st.sampled_from(options))
    return r"n_annotators of item .* not a whole number"


def d_bad_annotations(draw, t):
    options = ["joy", "", "[]", "{}", '[["joy"]', "[" * 3000 + "]" * 3000, '{"a": ["joy"], "b": }']
    if t.fmt == "jsonl":
        options += [5, {}, [], None, True]
    t.rows[_row(draw, t)]["annotations"] = draw(st.sampled_from(options))
    return r"must be a JSON list|has no annotators|malformed JSON|nested too deeply"


def d_none_combined(draw, t):
    _set_label_cell(draw, t, ["none", draw(st.sampled_from(LABELS))])
    return r"'none' combined with other labels"


def d_single_label_count(draw, t):
    t.labels = LABELS
    _set_label_cell(draw, t, draw(st.sampled_from([["joy", "anger"], ["none"], []])))
    return r"exactly one label|not in the label set"


def d_line_break(draw, t):
    role = draw(st.sampled_from(["id", "labels"] + (["annotator"] if t.kind == "annotator_rows" else [])))
    i = _row(draw, t)
    if role == "labels":
        _set_label_cell(draw, t, draw(st.sampled_from(["joy\nanger", "joy\r\nsadness", ["joy\nx"]])))
    else:
        t.rows[i][t.names[role]] = str(t.rows[i][t.names[role]]) + "\nx"
    return r"spans several lines|is not a label"


def d_huge_label(draw, t):
    t.labels = LABELS
    n = draw(st.integers(140_000, 210_000))
    if t.kind == "fractions":
        t.rows[_row(draw, t)][LABELS[0]] = "9" * n
        return r"not a number in \[0, 1\]"
    _set_label_cell(draw, t, ["x" * n])
    return r"not in the label set"


def d_huge_name(draw, t):
    t.labels = LABELS
    role = draw(st.sampled_from(["id"] + (["annotator"] if t.kind == "annotator_rows" else [])))
    i = _row(draw, t)
    t.rows[i][t.names[role]] = "n" * draw(st.integers(140_000, 210_000))
    if t.kind == "fractions":
        t.rows[i][LABELS[0]] = "lots"
        return r"not a number in \[0, 1\]"
    t.rows[i][_label_col(t)] = ["zzz"] if t.kind != "annotation_lists" else [["zzz"]]
    return r"not in the label set"


def d_huge_inferred_label(draw, t):
    t.labels = None
    _set_label_cell(draw, t, ["y" * draw(st.integers(101, 210_000))])
    return r"characters long, so the cell is probably not a label"


def d_fraction_label_missing(draw, t):
    t.labels = LABELS + ("fear",)
    return r"no fraction column for label\(s\) fear"


def d_fraction_label_clash(draw, t):
    t.labels = None
    old = draw(st.sampled_from(LABELS[1:]))
    new = draw(st.sampled_from(["none", "Anger", " ANGER "])) if t.multilabel else draw(st.sampled_from(["Anger"]))
    t.columns[t.columns.index(old)] = new
    for r in t.rows:
        r[new] = r.pop(old)
    return r"reserve for .no label.|are the same label"


def d_unclosed_quote(draw, t):
    """A quote that never closes: opened at a field start after the file's last quote, or the last quote removed.

    Either way no later quote can close it (an earlier-placed one could be closed by the next
    quoted field and leave a valid, different file), so the reader must hit the end of the file.
    """
    pick = draw(st.floats(0.0, 1.0))
    delete = draw(st.booleans())

    def unclose(data: bytes) -> bytes:
        text = data.decode("utf-8")
        last = text.rfind('"')
        body = text.index("\n") + 1  # not in the header line
        delim = "\t" if t.fmt == "tsv" else ","
        starts = [i + 1 for i, ch in enumerate(text) if ch in (delim, "\n") and i + 1 > max(last, body - 1)
                  and i + 1 < len(text) and text[i + 1] not in "\r\n"]
        if last >= body and (delete or not starts):
            return (text[:last] + text[last + 1:]).encode("utf-8")
        if not starts:  # no quote anywhere and nothing to open: open the last data line's first field
            starts = [text.rstrip("\r\n").rfind("\n") + 1]
        at = starts[min(len(starts) - 1, int(pick * len(starts)))]
        return (text[:at] + '"' + text[at:]).encode("utf-8")

    t.post = unclose
    return r"malformed (CSV|TSV) \(unexpected end of data\); close the quote"


def d_text_after_quote(draw, t):
    i = _row(draw, t)
    col = draw(st.sampled_from(t.columns))
    value = str(_cell(t, col, t.rows[i].get(col)))
    t.raw_fields[(i, col)] = '"' + value.replace('"', '""') + '"' + draw(st.sampled_from(["x", " ", "'"]))
    return r"malformed (CSV|TSV) .*expected after"


def d_duplicate_header(draw, t):
    col = draw(st.sampled_from(t.columns))
    t.columns.append(col)
    return r"duplicate column name\(s\)"


def d_latin1(draw, t):
    i = draw(st.integers(0, len(t.rows) - 1))
    t.rows[i][t.names["text"]] = str(t.rows[i][t.names["text"]]) + " café"
    t.encoding = "latin-1"
    return r"byte 0x[0-9a-f]{2} is not valid utf-8"


def d_wide_encoding(draw, t):
    t.encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
    return r"UTF-16|UTF-32|NUL byte"


def d_torn_line(draw, t):
    i = _row(draw, t)
    merge = draw(st.booleans())
    frac = draw(st.floats(0.05, 0.95))

    def tear(data: bytes) -> bytes:
        lines = data.decode("utf-8").split(t.newline)
        cut = max(1, min(len(lines[i]) - 1, int(len(lines[i]) * frac)))
        lines[i] = lines[i][:cut]
        if merge and i + 1 < len(lines) and lines[i + 1]:
            lines[i] += lines.pop(i + 1)
        return t.newline.join(lines).encode("utf-8")

    t.post = tear
    return r"malformed JSON"


def d_not_an_object(draw, t):
    line = draw(st.sampled_from(["[1, 2]", '"text"', "42", "null", "true", '[{"id": "1"}]']))
    at = draw(st.integers(0, len(t.rows)))

    def insert(data: bytes) -> bytes:
        lines = data.decode("utf-8").split(t.newline)
        lines.insert(at, line)
        return t.newline.join(lines).encode("utf-8")

    t.post = insert
    return r"expected a JSON object"


def d_deep_json(draw, t):
    k = draw(st.integers(1_500, 6_000))
    line = draw(st.sampled_from(["[" * k + "]" * k, '{"a": ' * k + "1" + "}" * k, "[" * k]))

    def insert(data: bytes) -> bytes:
        return data + line.encode() + t.newline.encode()

    t.post = insert
    return r"nested too deeply|malformed JSON|expected a JSON object|no id \(the row has no"


def d_empty_file(draw, t):
    content = draw(st.sampled_from([b"", b"\n", b"\n \n\n", b"\xef\xbb\xbf", b"\r\n\r\n"]))
    t.post = lambda data: content
    return r"is empty|has no JSON lines|not a readable Parquet file"


def d_header_only(draw, t):
    t.rows = []
    return r"has a header but no data rows"


def d_corrupt_parquet(draw, t):
    frac = draw(st.floats(0.0, 0.95))
    t.post = lambda data: data[: int(len(data) * frac)]
    return r"not a readable Parquet file"


def d_binary(draw, t):
    tail = draw(st.binary(min_size=0, max_size=64))
    t.post = lambda data: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + tail
    return r"not valid utf-8|NUL byte"


def d_json_as_csv(draw, t):
    t.fmt, t.filename = "jsonl", f"data.{draw(st.sampled_from(['csv', 'tsv']))}"
    return r"missing column|malformed (CSV|TSV)|fields but the header has|duplicate column name"


ROW_KINDS = ("annotator_rows", "annotation_lists", "hard")  # the layouts with label cells
# name -> (defect, formats, kinds, multilabel: True / False / None = either)
DEFECTS: dict[str, tuple[Callable, tuple[str, ...], tuple[str, ...], bool | None]] = {
    "empty_id": (d_empty_id, FORMATS, KINDS, None),
    "duplicate_id": (d_duplicate_id, FORMATS, KINDS, None),
    "unknown_label": (d_unknown_label, FORMATS, ROW_KINDS, None),
    "empty_label": (d_empty_label, FORMATS, ROW_KINDS, None),
    "nan_text_label": (d_nan_text_label, FORMATS, ROW_KINDS, None),
    "non_string_label": (d_non_string_label, ("jsonl",), ROW_KINDS, None),
    "non_string_field": (d_non_string_field, ("jsonl",), KINDS, None),
    "empty_text": (d_empty_text, FORMATS, KINDS, None),
    "missing_column": (d_missing_column, FORMATS, KINDS, None),
    "unknown_column_flag": (d_unknown_column_flag, FORMATS, KINDS, None),
    "field_count": (d_field_count, ("csv", "tsv"), KINDS, None),
    "bad_fraction": (d_bad_fraction, FORMATS, ("fractions",), None),
    "fraction_sum": (d_fraction_sum, FORMATS, ("fractions",), False),
    "bad_n_annotators": (d_bad_n_annotators, FORMATS, ("fractions",), None),
    "bad_annotations": (d_bad_annotations, FORMATS, ("annotation_lists",), True),
    "none_combined": (d_none_combined, FORMATS, ROW_KINDS, True),
    "single_label_count": (d_single_label_count, FORMATS, ("annotator_rows",), False),
    "line_break": (d_line_break, ("csv", "tsv", "jsonl"), ROW_KINDS, None),
    "huge_label": (d_huge_label, FORMATS, KINDS, None),
    "huge_name": (d_huge_name, FORMATS, KINDS, None),
    "huge_inferred_label": (d_huge_inferred_label, FORMATS, ROW_KINDS, None),
    "fraction_label_missing": (d_fraction_label_missing, FORMATS, ("fractions",), None),
    "fraction_label_clash": (d_fraction_label_clash, FORMATS, ("fractions",), None),
    "unclosed_quote": (d_unclosed_quote, ("csv", "tsv"), KINDS, None),
    "text_after_quote": (d_text_after_quote, ("csv", "tsv"), KINDS, None),
    "duplicate_header": (d_duplicate_header, ("csv", "tsv"), KINDS, None),
    "latin1": (d_latin1, TEXT_FORMATS, KINDS, None),
    "wide_encoding": (d_wide_encoding, TEXT_FORMATS, KINDS, None),
    "torn_line": (d_torn_line, ("jsonl",), KINDS, None),
    "not_an_object": (d_not_an_object, ("jsonl",), KINDS, None),
    "deep_json": (d_deep_json, ("jsonl",), KINDS, None),
    "empty_file": (d_empty_file, FORMATS, KINDS, None),
    "header_only": (d_header_only, ("csv", "tsv", "parquet"), KINDS, None),
    "corrupt_parquet": (d_corrupt_parquet, ("parquet",), KINDS, None),
    "binary": (d_binary, TEXT_FORMATS, KINDS, None),
    "json_as_csv": (d_json_as_csv, ("jsonl",), KINDS, None),
}


@st.composite
def malformed_cases(draw, defects=tuple(DEFECTS)) -> Case:
    """A valid generated file with one defect from ``defects`` injected."""
    name = draw(st.sampled_from(defects))
    fn, formats, kinds, multilabel = DEFECTS[name]
    t = draw(tables(formats=formats, kinds=kinds, multilabel=multilabel))
    expect = fn(draw, t)
    return to_case(t, name, expect)


# ---------------------------------------------------------------- bad flags

@st.composite
def bad_flag_cases(draw) -> tuple[list[str], str]:
    """(extra ``labeldist run`` arguments, regex of the error): bad layout flag values and combinations."""
    kind = draw(st.sampled_from(["sep", "empty", "column", "clash", "single_none", "dataset", "labels"]))
    if kind == "sep":
        return ["--label-sep="], r"--label-sep\) is '', not a separator"
    if kind == "empty":
        value = draw(st.sampled_from(["yes", "skip", "None", "MISSING", "0", "nan"]))
        return [f"--empty-labels={value}"], rf"--empty-labels\) is '{value}'; use one of error, none, missing"
    if kind == "column":
        flag = draw(st.sampled_from(["--id-column", "--text-column", "--labels-column", "--annotator-column"]))
        value = draw(st.sampled_from(["", "  "]))
        return [f"{flag}={value}"], r"not a column name"
    if kind == "clash":
        a, b = draw(st.permutations(["--id-column", "--text-column", "--labels-column", "--annotator-column"]))[:2]
        return [f"{a}=same", f"{b}=same"], r"both name column 'same'"
    if kind == "single_none":
        return ["--single-label", "--empty-labels=none"], r"single-label data does not have"
    if kind == "dataset":
        return ["<dataset>", "--label-sep=;"], r"--label-sep describe\(s\) an annotated file"
    labels = draw(st.sampled_from(["", ",", "joy,Joy", "joy,none"]))
    return [f"--labels={labels}"], r"empty label set|empty label name|duplicate label|reserved"
