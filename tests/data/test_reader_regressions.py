"""Regression tests: one per reader bug found by the generated malformed files (tests/data/malformed.py).

Each input below was, before the fix, read silently into wrong data or crashed with an
exception other than LabeldistError (noted per test).
"""

from __future__ import annotations

import json
import sys

import pytest

from labeldist.data import read_annotated_file
from labeldist.errors import LabeldistError


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def jsonl(*rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


def error(path, **kwargs) -> str:
    with pytest.raises(LabeldistError) as err:
        read_annotated_file(path, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "; " in msg
    return msg


def test_unclosed_quote_no_longer_swallows_the_rest_of_the_file(tmp_path):
    # Was: item 1's text became 'oops\n2,anger,fine\n' and item 2 vanished.
    path = write(tmp_path, "f.csv", 'id,labels,text\n1,joy,"oops\n2,anger,fine\n')
    assert "line 2: malformed CSV (unexpected end of data); close the quote" in error(path)


def test_text_after_closing_quote_is_an_error(tmp_path):
    # Was: read as the text 'hix'.
    path = write(tmp_path, "f.csv", 'id,text,labels\n1,"hi"x,joy\n')
    assert "line 2: malformed CSV (',' expected after '\"')" in error(path)
    path = write(tmp_path, "f.tsv", 'id\ttext\tlabels\n1\t"hi" \tjoy\n')
    msg = error(path)
    assert "line 2: malformed TSV (" in msg and "expected after" in msg


@pytest.mark.parametrize("name, content, pattern", [
    ("d.jsonl", jsonl({"id": "1", "text": "a", "labels": ["joy"]}) + "[" * 100_000 + "\n", "line 2: JSON nested too deeply"),
    ("d.csv", "id,text,labels\n1,a," + "[" * 100_000 + "\n", "line 2: item '1': JSON label list .* is nested too deeply"),
    ("d.csv", "id,text,annotations\n1,a," + "[" * 100_000 + "\n", "annotations of item '1' are nested too deeply"),
])
def test_deep_json_is_an_error_not_a_recursion_error(tmp_path, name, content, pattern):
    # Was: RecursionError (a traceback from the CLI).
    import re

    assert re.search(pattern, error(write(tmp_path, name, content)))


@pytest.mark.parametrize("value", ["inf", "2.5", "0", "-1", "two"])
def test_n_annotators_must_be_a_whole_number(tmp_path, value):
    # Was: 'inf' -> OverflowError; '2.5' -> silently 2; '0' and '-1' accepted.
    path = write(tmp_path, "f.csv", f"id,text,joy,n_annotators\n1,a,0.5,{value}\n")
    assert f"n_annotators of item '1' is '{value}', not a whole number >= 1" in error(path)
    ok = read_annotated_file(write(tmp_path, "g.csv", "id,text,joy,n_annotators\n1,a,0.5,4.0\n"))
    assert ok.split("test")[0].human.n_annotators == 4


def test_boolean_fraction_is_not_one(tmp_path):
    # Was: JSON true read as the fraction 1.0.
    path = write(tmp_path, "f.jsonl", jsonl({"id": "1", "text": "a", "joy": True}))
    assert "fraction for label 'joy' of item '1' is True, not a number in [0, 1]" in error(path)


@pytest.mark.parametrize("row, pattern", [
    ({"id": {"a": 1}, "text": "a", "labels": ["joy"]}, "id is a JSON object, not a string or number"),  # was id "{'a': 1}"
    ({"id": [1], "text": "a", "labels": ["joy"]}, "id is a list"),
    ({"id": True, "text": "a", "labels": ["joy"]}, "id is the boolean true"),  # was id "True"
    ({"id": "1", "text": 5, "labels": ["joy"]}, "text for id '1' is the number 5, not a string"),  # was "empty text"
    ({"id": "1", "text": "a", "labels": ["joy"], "split": {"x": 1}}, "split name is a JSON object"),  # was a split
    ({"id": "1", "text": "a", "annotator": ["r"], "labels": ["joy"]}, "annotator id is a list"),
    ({"text": "a", "labels": ["joy"]}, r"line 2: no id \(the row has no 'id' field\)"),
    ({"id": "1", "labels": ["joy"]}, "line 2: no text for id '1'"),
])
def test_json_values_where_names_and_texts_belong(tmp_path, row, pattern):
    import re

    first = {"id": "0", "text": "fine", "annotator": "r0", "labels": ["joy"]}  # every key is a column of the file
    assert re.search(pattern, error(write(tmp_path, "f.jsonl", jsonl(first, row))))


@pytest.mark.parametrize("labels, pattern", [
    (["joy", None], r"entry None in label list \['joy', None\] is not a label"),  # was: None dropped
    ([True], "entry True in label list"),  # was: a label named 'true'
    ([""], "entry '' in label list"),  # was: an explicit no-label vote
    (["joy", ["anger"]], "nested value"),
    ({"joy": 1}, "labels are a JSON object"),
    (False, "cannot read labels from the boolean false"),
])
def test_label_cells_with_non_labels(tmp_path, labels, pattern):
    import re

    path = write(tmp_path, "f.jsonl", jsonl({"id": "1", "text": "a", "annotator": "r", "labels": labels}))
    assert re.search(pattern, error(path))


def test_json_object_in_a_csv_label_cell(tmp_path):
    # Was: a label named '{"joy": 1}'.
    path = write(tmp_path, "f.csv", 'id,text,labels\n1,a,"{""joy"": 1}"\n')
    assert "labels are a JSON object {'joy': 1}, not a label list" in error(path)


def test_line_break_inside_a_name_cell(tmp_path):
    path = write(tmp_path, "f.csv", 'id,text,labels\n"1\n2",a,joy\n')
    assert "line 2: id '1\\n2' spans several lines (an unclosed quote?)" in error(path)
    path = write(tmp_path, "g.csv", 'id,text,labels\n1,a,"joy\nanger"\n')
    assert "spans several lines" in error(path)


def test_utf16_is_named_as_such(tmp_path):
    # Was: "byte 0xff is not valid utf-8; ... iconv -f latin1" (BOM) or a field-count error (no BOM).
    path = write(tmp_path, "f.csv", "id,text,labels\n1,é,joy\n".encode("utf-16"))
    assert "is UTF-16 text (it starts with a UTF-16 byte-order mark)" in error(path)
    assert read_annotated_file(path, encoding="utf-16").split("test")[0].text == "é"
    path = write(tmp_path, "g.csv", "id,text,labels\n1,é,joy\n".encode("utf-16-le"))
    assert "line 1: NUL byte, so this is not UTF-8 text" in error(path)
    path = write(tmp_path, "h.jsonl", jsonl({"id": "1", "text": "a", "labels": "joy"}).encode("utf-32"))
    assert "is UTF-32 text" in error(path)


def test_unknown_encoding_name(tmp_path):
    # Was: LookupError.
    path = write(tmp_path, "f.csv", "id,text,labels\n1,a,joy\n")
    assert "unknown encoding 'nope'" in error(path, encoding="nope")


def test_header_only_file(tmp_path):
    # Was: "no labels found; check the labels column".
    assert "has a header but no data rows" in error(write(tmp_path, "f.csv", "id,text,labels\n"))


def test_huge_cells_are_cut_in_messages(tmp_path):
    # Was: the 200k-character label (or a JSON line read as a CSV header) quoted in full.
    path = write(tmp_path, "f.csv", "id,text,labels\n1,a," + "z" * 200_000 + "\n")
    msg = error(path, labels="joy")
    assert "(200002 chars) not in the label set (joy)" in msg and len(msg) < 600
    line = json.dumps({"id": "1", "text": "x" * 200_000, "labels": "joy"})
    msg = error(write(tmp_path, "g.csv", line + "\n" + line + "\n"))
    assert "missing column(s) 'id'" in msg and "chars)" in msg and len(msg) < 1500
    path = write(tmp_path, "h.csv", "id,text,labels\n" + "n" * 200_000 + ",a,zzz\n")
    assert len(error(path, labels="joy")) < 600


def test_separator_with_spaces_survives_strip(tmp_path):
    # Was: the cell ' &&  && ' read as a label '&& &&'.
    path = write(tmp_path, "f.csv", "id,text,annotator,labels\n1,a,x,joy && anger\n1,a,y, &&  && \n")
    assert "no labels for annotator 'y' for item '1' (empty cell)" in error(path, label_sep=" && ")
    (ex,) = read_annotated_file(path, label_sep=" && ", empty_labels="missing").split("test")
    assert ex.annotations == (("joy", "anger"),)


def test_fraction_columns_that_are_one_label(tmp_path):
    # Was: 'Joy' silently dropped for 'joy'; a 'none' column failed without naming the file.
    assert "columns 'Joy' and 'joy' are the same label 'joy'" in error(
        write(tmp_path, "f.csv", "id,text,Joy,joy\n1,a,0.5,0.2\n"))
    assert "fraction column 'none' would be a label named 'none'" in error(
        write(tmp_path, "g.csv", "id,text,none,joy\n1,a,0.5,0.2\n"))


def test_inferred_labels_that_are_not_labels(tmp_path):
    # Was: labels named 'nan' (pandas' missing value) or a whole text inferred into the label set.
    assert "line 3: label 'nan' looks like a missing value" in error(
        write(tmp_path, "f.csv", "id,text,labels\n1,a,joy\n2,b,nan\n"))
    assert "is 150 characters long, so the cell is probably not a label" in error(
        write(tmp_path, "g.csv", f"id,text,labels\n1,a,joy\n2,b,{'w' * 150}\n"))
    ds = read_annotated_file(write(tmp_path, "h.csv", "id,text,labels\n1,a,joy\n2,b,nan\n"), labels="joy,nan")
    assert ds.label_set.labels == ("joy", "nan")  # declared, it is a label


def test_cr_only_jsonl_lines(tmp_path):
    # Was: "malformed JSON (Extra data)" on one merged line.
    path = write(tmp_path, "f.jsonl", '{"id":"1","text":"a","labels":["joy"]}\r{"id":"2","text":"b","labels":["joy"]}\r')
    assert [ex.id for ex in read_annotated_file(path).split("test")] == ["1", "2"]


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    # Was: ImportError.
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = write(tmp_path, "f.parquet", b"PAR1")
    assert "needs pyarrow, which is not installed; pip install pyarrow" in error(path)
