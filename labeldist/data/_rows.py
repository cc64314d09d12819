"""Row readers for CSV, TSV, JSONL and Parquet, each row tagged with its line (or row) number.

The stdlib ``csv`` module is used instead of pandas so that every row keeps the line it
starts on (quoted fields may span lines), which error messages must name. It runs in
``strict`` mode, so an unclosed quote or text after a closing quote is reported at the line
where the row starts instead of silently swallowing the rest of the file, and with the
field size limit raised to the largest the platform allows, so a long text (the default
limit is 131,072 characters) is read and left to the model's context-length check.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from labeldist.data._common import RowProblems, read_text
from labeldist.errors import LabeldistError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

Row = tuple[str, dict[str, Any]]  # (location such as "line 4" or "row 4", field -> value)


def detect_format(path: Path, file_format: str | None) -> str:
    if file_format:
        fmt = file_format.lower().lstrip(".")
        if fmt not in set(FORMATS.values()):
            raise LabeldistError(f"unknown file format {file_format!r}", "use csv, tsv, jsonl or parquet")
        return fmt
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise LabeldistError(
            f"cannot tell the format of {path} from its extension {path.suffix!r}",
            "rename it to .csv, .tsv, .jsonl or .parquet, or pass file_format=... (CLI: --format)",
        )
    return fmt


def read_rows(path: Path, fmt: str, *, encoding: str, problems: RowProblems) -> tuple[list[str] | None, list[Row]]:
    """All data rows of a file; ``columns`` is the header (None for JSONL, whose keys vary)."""
    if not path.is_file():
        raise LabeldistError(f"file not found: {path}", "check the path")
    if fmt == "parquet":
        return _parquet_rows(path)
    text = read_text(path, encoding=encoding, problems=problems)
    if fmt == "jsonl":
        return None, _jsonl_rows(path, text, problems)
    return _delimited_rows(path, text, "\t" if fmt == "tsv" else ",", problems)


_CSV_HINTS = {
    "unexpected end of data": "close the quote opened in this row (a quote inside a quoted field is written "
                              "twice: \"\")",
    "expected after": "text follows a closing quote: wrap the whole field in quotes and write each quote inside "
                      "it twice (\"\")",
}


def raise_csv_field_limit() -> int:
    """Set ``csv.field_size_limit`` to the largest value the platform's C long accepts; return it.

    ``sys.maxsize`` overflows where a C long is 32 bits (Windows), so halve until accepted.
    The limit is process-wide; raising it only lets valid long fields through.
    """
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return limit
        except OverflowError:
            limit //= 2


def _delimited_rows(path: Path, text: str, delimiter: str, problems: RowProblems) -> tuple[list[str], list[Row]]:
    if csv.field_size_limit() < 2**31 - 1:
        raise_csv_field_limit()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    prev = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # an unclosed quote, text after a closing quote
            fix = next((h for k, h in _CSV_HINTS.items() if k in str(e)), "fix the quoting in the row on that line")
            what = "TSV" if delimiter == "\t" else "CSV"
            raise LabeldistError(f"{path} line {prev + 1}: malformed {what} ({e})", fix) from None
        start, prev = prev + 1, reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue  # blank line: not a data row
        if header is None:
            header = [h.strip() for h in fields]
            if len(set(header)) != len(header):
                dup = sorted({h for h in header if header.count(h) > 1})
                raise LabeldistError(f"{path} line {start}: duplicate column name(s) {', '.join(repr(d) if len(d) <= 40 else repr(d[:30]) + '...' for d in dup[:10])}",
                                     "give every column a different name")
            continue
        if len(fields) != len(header):
            problems.bad(
                path, start, f"has {len(fields)} fields but the header has {len(header)}",
                "fix the row (quote fields that contain the delimiter)",
            )
            continue
        rows.append((f"line {start}", dict(zip(header, fields))))
    if header is None:
        raise LabeldistError(f"{path} is empty", "add a header row and data rows")
    return header, rows


def _jsonl_rows(path: Path, text: str, problems: RowProblems) -> list[Row]:
    rows: list[Row] = []
    # JSON strings cannot hold raw CR or LF, so every CR, LF or CRLF ends a line.
    for i, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.bad(path, i, f"malformed JSON ({e.msg} at column {e.colno})",
                         "fix the JSON on that line (one complete JSON object per line)")
            continue
        except RecursionError:
            problems.bad(path, i, "JSON nested too deeply", "write one flat JSON object per line")
            continue
        if not isinstance(obj, dict):
            problems.bad(path, i, f"expected a JSON object, got {type(obj).__name__}", "write one JSON object per line")
            continue
        rows.append((f"line {i}", obj))
    if not rows and not problems.skipped:
        raise LabeldistError(f"{path} has no JSON lines", "add one JSON object per line")
    return rows


def _parquet_rows(path: Path) -> tuple[list[str], list[Row]]:
    try:
        import pyarrow.parquet as pq  # heavy import: only when a Parquet file is read
    except ImportError:
        raise LabeldistError(f"reading {path} needs pyarrow, which is not installed",
                             "pip install pyarrow, or save the file as CSV or JSONL") from None
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises many types for unreadable files
        raise LabeldistError(f"{path} is not a readable Parquet file ({type(e).__name__}: {e})", "re-export the file") from None
    return list(table.column_names), [(f"row {i}", r) for i, r in enumerate(table.to_pylist(), start=1)]


def is_missing(value: Any) -> bool:
    """None, NaN and blank strings are missing values."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()
