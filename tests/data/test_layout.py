"""FileLayout: a real annotation export read with only the layout flags, separators, empty cells, long fields."""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pytest

from labeldist.cli.cmd_run import load_inputs
from labeldist.cli.data_options import layout_from_args
from labeldist.cli.main import build_parser, main
from labeldist.data import read_annotated_file
from labeldist.data.layout import EXAMPLES, FileLayout
from labeldist.errors import LabeldistError

from .conftest import FIXTURES

EXPORT = FIXTURES / "files" / "annotator_export.csv"
LABELS = ("anger", "fear", "joy", "surprise")
# Hand-computed q (eq. 1) in label order anger, fear, joy, surprise.
# t1: ann1 joy, ann2 joy+surprise, ann3 empty.  t2: ann1 anger+fear, ann2 fear.  t3: ann1, ann2 empty, ann3 joy.
Q_NONE = {"t1": (0, 0, 2 / 3, 1 / 3), "t2": (1 / 2, 1, 0, 0), "t3": (0, 0, 1 / 3, 0)}  # empty = chose no label
Q_MISSING = {"t1": (0, 0, 2 / 2, 1 / 2), "t2": (1 / 2, 1, 0, 0), "t3": (0, 0, 1, 0)}  # empty = no answer
FLAGS = ["--id-column", "item_id", "--label-sep", ";"]


def by_id(ds, split="test"):
    return {ex.id: ex for ex in ds.split(split)}


def check_q(ds, expected):
    assert ds.label_set.labels == LABELS
    got = by_id(ds)
    assert set(got) == set(expected)
    for key, q in expected.items():
        assert got[key].human.probs == pytest.approx(q), key


def parse(argv):
    return build_parser().parse_args(argv)


# ---- issue 18.1: the export file, through the API, the parser and load_inputs ----

def test_export_read_with_layout_empty_is_no_label():
    ds = read_annotated_file(EXPORT, layout=FileLayout(id_column="item_id", label_sep=";", empty_labels="none"))
    check_q(ds, Q_NONE)
    got = by_id(ds)
    assert got["t1"].human.n_annotators == 3 and got["t1"].annotations == (("joy",), ("joy", "surprise"), ())
    assert got["t1"].gold == ("joy",) and got["t2"].gold == ("anger", "fear") and got["t3"].gold == ()
    assert got["t2"].text == "This is awful, and scary"
    assert "3 empty label cell(s) read as 'no label'" in ds.description


def test_export_read_with_empty_as_missing_answer():
    ds = read_annotated_file(EXPORT, layout=FileLayout(id_column="item_id", label_sep=";", empty_labels="missing"))
    check_q(ds, Q_MISSING)
    got = by_id(ds)
    assert got["t1"].human.n_annotators == 2 and got["t1"].meta["annotators"] == ["ann1", "ann2"]
    assert got["t1"].gold == ("joy", "surprise")
    assert got["t3"].human.kind == "single_annotator"  # one answer left: a 0/1 vector, not a distribution
    assert "3 empty label cell(s) read as missing answers" in ds.description


def test_keyword_arguments_are_the_same_options():
    ds = read_annotated_file(EXPORT, id_column="item_id", label_sep=";", empty_labels="none")
    check_q(ds, Q_NONE)
    old_name = read_annotated_file(EXPORT, id_column="item_id", label_separator=";", empty_labels="missing")
    check_q(old_name, Q_MISSING)
    # A keyword overrides the FileLayout field of the same name.
    over = read_annotated_file(EXPORT, layout=FileLayout(id_column="item_id", label_sep="|", empty_labels="none"),
                               label_sep=";")
    check_q(over, Q_NONE)
    with pytest.raises(LabeldistError, match="label_separator=',' and label_sep=';' disagree"):
        read_annotated_file(EXPORT, label_separator=",", label_sep=";")


def test_without_flags_the_errors_name_the_flags():
    """What the new user saw, now with the flag to use in each message."""
    with pytest.raises(LabeldistError) as err:
        read_annotated_file(EXPORT)
    msg = str(err.value)
    assert "missing column(s) 'id' (for the item ids)" in msg and "columns: item_id, text, annotator, labels" in msg
    assert "--id-column item_id" in msg and str(EXPORT) in msg
    with pytest.raises(LabeldistError, match=r"line 4: no labels for annotator 'ann3' for item 't1' \(empty cell\)") as err:
        read_annotated_file(EXPORT, id_column="item_id", label_sep=";")
    assert "--empty-labels none" in str(err.value) and "--empty-labels missing" in str(err.value)
    with pytest.raises(LabeldistError, match=r"line 3: .*'joy;surprise' not in the label set") as err:
        read_annotated_file(EXPORT, id_column="item_id", empty_labels="none", labels=LABELS)
    assert "--label-sep ';'" in str(err.value)


def test_cli_flags_parse_into_the_layout():
    args = parse(["run", "--data", str(EXPORT), *FLAGS, "--empty-labels", "missing"])
    assert layout_from_args(args) == FileLayout(id_column="item_id", label_sep=";", empty_labels="missing")
    args = parse(["classify", "hi", "--labels", "a,b", "--demos", "d.csv", "--text-column", "body",
                  "--labels-column", "tags", "--annotator-column", "rater", "--label-sep", " | "])
    assert layout_from_args(args) == FileLayout(text_column="body", labels_column="tags", annotator_column="rater",
                                                label_sep=" | ")
    assert layout_from_args(parse(["run", "--data", "x.csv"])) == FileLayout()


@pytest.mark.parametrize("empty, expected", [("none", Q_NONE), ("missing", Q_MISSING)])
def test_run_loads_the_export_with_only_the_new_flags(tmp_path, empty, expected):
    args = parse(["run", "--data", str(EXPORT), *FLAGS, "--empty-labels", empty, "--shots", "0",
                  "--out", str(tmp_path / "run")])
    examples, label_set, pool, _train, _dev, source = load_inputs(args)
    assert label_set.labels == LABELS and pool == []
    for ex in examples:
        assert ex.human.probs == pytest.approx(expected[ex.id])
    assert source["layout"] == {"id_column": "item_id", "label_sep": ";", "empty_labels": empty}
    assert not (tmp_path / "run").exists()


def test_run_demos_file_is_read_with_the_same_layout(tmp_path):
    demos = tmp_path / "demos.csv"
    demos.write_text("item_id,text,annotator,labels\nd1,Yay,a,joy\nd1,Yay,b,\nd2,Grr,a,anger;fear\n", encoding="utf-8")
    args = parse(["run", "--data", str(EXPORT), *FLAGS, "--empty-labels", "none", "--demos", str(demos)])
    _, _, pool, _, _, _ = load_inputs(args)  # default --shots 10 draws from the demos file
    assert {d.id: d.human.probs for d in pool} == {"d1": pytest.approx((0, 0, 0.5, 0)),
                                                    "d2": pytest.approx((1, 1, 0, 0))}


def test_default_layout_is_not_recorded_so_old_runs_resume(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,text,labels\n1,hi,joy\n", encoding="utf-8")
    _, _, _, _, _, source = load_inputs(parse(["run", "--data", str(path), "--shots", "0"]))
    assert "layout" not in source


# ---- separators ----

@pytest.mark.parametrize("sep", ["|", " | ", "||", " and ", ";;", "\t"])
def test_any_separator_string(tmp_path, sep):
    path = tmp_path / "f.jsonl"
    import json

    rows = [{"id": "1", "text": "t", "annotator": "a", "labels": sep.join(["joy", "anger"])},
            {"id": "1", "text": "t", "annotator": "b", "labels": "joy"},
            {"id": "2", "text": "u", "annotator": "a", "labels": f"sadness{sep}{sep}anger"}]  # doubled: no empty label
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ds = read_annotated_file(path, label_sep=sep)
    assert ds.label_set.labels == ("anger", "joy", "sadness")
    got = by_id(ds)
    assert got["1"].human.probs == pytest.approx((0.5, 1.0, 0.0)) and got["2"].annotations == (("sadness", "anger"),)


def test_pipe_separator_in_csv_through_cli(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("doc,body,rater,tags\n1,ok,r1,joy|anger\n1,ok,r2,joy\n1,ok,r3,none\n", encoding="utf-8")
    args = parse(["run", "--data", str(path), "--id-column", "doc", "--text-column", "body", "--annotator-column",
                  "rater", "--labels-column", "tags", "--label-sep", "|", "--shots", "0"])
    (ex,), label_set, _, _, _, _ = load_inputs(args)
    assert label_set.labels == ("anger", "joy") and ex.human.probs == pytest.approx((1 / 3, 2 / 3))


def test_only_separators_is_an_empty_cell(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,text,annotator,labels\n1,t,a,joy\n1,t,b,\" ; \"\n", encoding="utf-8")
    with pytest.raises(LabeldistError, match="no labels for annotator 'b'"):
        read_annotated_file(path, label_sep=";")
    (ex,) = read_annotated_file(path, label_sep=";", empty_labels="none").split("test")
    assert ex.human.probs == (0.5,)


# ---- validation of the layout itself ----

@pytest.mark.parametrize("kwargs, pattern", [
    ({"label_sep": ""}, r"label_sep \(CLI: --label-sep\) is '', not a separator; .*--label-sep ';'"),
    ({"empty_labels": "skip"}, r"empty_labels \(CLI: --empty-labels\) is 'skip'; use one of error, none, missing"),
    ({"id_column": " "}, r"id_column \(CLI: --id-column\) is ' ', not a column name"),
    ({"labels_column": "text"}, r"text_column .* and labels_column .* both name column 'text'"),
    ({"kind": "wide"}, r"unknown layout 'wide'; use one of annotator_rows"),
    ({"label_columns": []}, r"label_columns=\[\] is not a list of column names"),
])
def test_bad_layout_values(kwargs, pattern):
    with pytest.raises(LabeldistError, match=pattern):
        FileLayout(**kwargs)


def test_named_column_must_exist(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,text,labels\n1,t,joy\n", encoding="utf-8")
    # Without this check, auto would read the file as 'hard' and ignore the annotator flag.
    with pytest.raises(LabeldistError) as err:
        read_annotated_file(path, annotator_column="rater")
    msg = str(err.value)
    assert f"{path}: missing column(s) 'rater' (set by annotator_column (CLI: --annotator-column))" in msg
    assert "(columns: id, text, labels)" in msg and "--annotator-column NAME" in msg
    with pytest.raises(LabeldistError, match=r"'fold' \(set by split_column\)"):
        read_annotated_file(path, split_column="fold")


def test_single_label_has_no_empty_none():
    with pytest.raises(LabeldistError, match="single-label data does not have; use empty_labels='missing'"):
        read_annotated_file(EXPORT, multilabel=False, empty_labels="none")


def test_empty_cells_under_missing_in_every_layout(tmp_path):
    import json

    lists = tmp_path / "l.jsonl"
    lists.write_text(json.dumps({"id": "1", "text": "t", "annotations": [["joy"], None, ""]}) + "\n"
                     + json.dumps({"id": "2", "text": "u", "annotations": [["joy"], []]}) + "\n", encoding="utf-8")
    got = by_id(read_annotated_file(lists, empty_labels="missing"))
    assert got["1"].human.n_annotators == 1 and got["2"].human.probs == (0.5,)
    got = by_id(read_annotated_file(lists, empty_labels="none"))
    assert got["1"].human.probs == pytest.approx((1 / 3,))
    hard = tmp_path / "h.csv"
    hard.write_text("id,text,labels\n1,t,joy\n2,u,\n", encoding="utf-8")
    ds = read_annotated_file(hard, empty_labels="missing")
    assert list(by_id(ds)) == ["1"] and "1 item(s) had no answer at all" in ds.description
    assert by_id(read_annotated_file(hard, empty_labels="none"))["2"].gold == ()
    with pytest.raises(LabeldistError, match="no valid items"):
        read_annotated_file(_write(tmp_path / "e.csv", "id,text,labels\n1,t,\n"), empty_labels="missing", labels="joy")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_dataset_with_layout_flags_is_refused(capsys, tmp_path):
    assert main(["run", "--dataset", "mfrc", "--id-column", "x", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--id-column describe(s) an annotated file" in err
    assert main(["run", "--data", str(EXPORT), "--label-sep", "", "--out", str(tmp_path / "r")]) == 2
    assert "not a separator" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ---- issue 17.4: long fields ----

@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_200k_character_text_field_is_read(tmp_path, fmt):
    text = ("word, \"quoted\"\tand more " * 9000)[:200_000]
    path = tmp_path / f"long.{fmt}"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t" if fmt == "tsv" else ",")
        w.writerows([["id", "text", "labels"], ["1", text, "joy"], ["2", "short", "anger"]])
    got = by_id(read_annotated_file(path))
    assert len(got["1"].text) == 200_000 and got["1"].text == text and got["2"].text == "short"


# ---- the --help-layouts examples are real ----

@pytest.mark.parametrize("example", EXAMPLES, ids=[e.filename for e in EXAMPLES])
def test_help_layout_examples_run(tmp_path, example):
    assert len(example.content.rstrip("\n").split("\n")) == (3 if example.filename.endswith(".jsonl") else 4)
    path = _write(tmp_path / example.filename, example.content)
    argv = shlex.split(example.command)[1:]
    assert argv[argv.index("--data") + 1] == example.filename
    argv[argv.index("--data") + 1] = str(path)
    examples, label_set, _, _, _, _ = load_inputs(parse(argv))
    assert label_set.labels == ("anger", "joy", "sadness")
    kinds = {ex.human.kind for ex in examples}
    assert kinds == {"annotator_rows": {"annotators"}, "annotation_lists": {"annotators"},
                     "fractions": {"fractions"}, "hard": {"aggregate_only"}}[example.kind]
    first = examples[0].human.probs
    if example.filename in ("votes.csv", "export.csv", "lists.jsonl"):
        assert first == pytest.approx((1 / 3, 2 / 3, 0))  # the q stated in the examples' notes


def test_help_layouts_prints_each_example(capsys):
    assert main(["datasets", "--help-layouts"]) == 0
    out = capsys.readouterr().out
    for example in EXAMPLES:
        assert example.command in out and example.content.split("\n")[1] in out
    assert "--empty-labels       empty_labels (default 'error')" in out


def test_classify_reads_demos_with_the_layout_flags(capsys):
    base = ["classify", "hi", "--labels", ",".join(LABELS), "--demos", str(EXPORT), "--shots", "2",
            "--id-column", "item_id", "--label-sep", ";"]
    assert main(base) == 2  # stops on the empty cell, naming the flag, before any model is loaded
    err = capsys.readouterr().err
    assert "annotator_export.csv line 4: no labels for annotator 'ann3'" in err and "--empty-labels none" in err
    # With the layout complete the demos are read, and only the (unknown) model stops it.
    assert main([*base, "--empty-labels", "none", "--model", "gpt-17"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'gpt-17'" in err and "annotator_export" not in err


def test_200k_field_reaches_the_context_length_check(tmp_path, tiny_backend):
    """Issue 17.4 end to end: the long text is read, then the context-length check names it; no run dir."""
    from labeldist import api
    from labeldist.runs.runner import RunConfig

    path = tmp_path / "long.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "text", "labels"], ["short", "fine", "joy"],
                                 ["long", "many words " * 20_000, "anger"]])
    ds = read_annotated_file(path)
    out = tmp_path / "run"
    with pytest.raises(LabeldistError, match=r"example 'long': prompt of \d+ tokens \+ \d+ to generate exceeds "
                                             r"the model's context of 2048") as err:
        api.run(list(ds.split("test")), ds.label_set, out, config=RunConfig(model="tiny"), backend=tiny_backend,
                progress=False)
    assert "\n" not in str(err.value) and not out.exists()
