"""Machine-readable output: classify --format json|jsonl|csv, run --json, evaluate --json, exit codes in --help."""

import csv
import io
import json

import numpy as np
import pytest

from labeldist import api
from labeldist.api import OUTPUT_FORMATS, format_csv, format_json, format_jsonl, format_output
from labeldist.cli.main import build_parser, main
from labeldist.methods import GENERATION_GROUP, METHODS, selected_methods
from labeldist.records import ExampleRecord, GenerationDiagnostics, GenerationRecord, LabelSet, MethodDiagnostics
from tests.report.helpers import make_run

LS = LabelSet(("joy", "anger"))
M1, M2 = [s.name for s in selected_methods((GENERATION_GROUP,), LS)][:2]


def records():
    a = ExampleRecord("t1", "I passed, \"finally\", yes", generation=GenerationRecord(
        '{"label": ["joy", "happy"]}', [1, 2, 3], ["joy"], ["happy"], "stop", GenerationDiagnostics(False, 6, 1)))
    a.methods = {M1: [0.75, 0.125], M2: [0.5, 0.25]}
    a.method_diagnostics = {M1: MethodDiagnostics(False), M2: MethodDiagnostics(True)}
    b = ExampleRecord("t2", "line one\nline two")
    b.methods = {M1: [0.1, float("nan")], M2: [0.2, 0.3]}
    return [a, b]


def test_json_document_has_every_text_method_and_label():
    doc = json.loads(format_json(records(), LS, [M1, M2], model={"name": "m"}, config={"shots": 0}))
    assert doc["labels"] == ["joy", "anger"] and doc["methods"] == [M1, M2] and doc["multilabel"] is True
    assert doc["model"] == {"name": "m"} and doc["config"] == {"shots": 0}
    t1, t2 = doc["texts"]
    assert t1["id"] == "t1" and t1["text"] == 'I passed, "finally", yes'
    assert t1["answer"] == '{"label": ["joy", "happy"]}' and t1["parsed"] == ["joy"]
    assert t1["probabilities"] == {M1: {"joy": 0.75, "anger": 0.125}, M2: {"joy": 0.5, "anger": 0.25}}
    assert t1["diagnostics"] == {"well_formed": False, "stop_reason": "stop", "unknown": ["happy"], "scored_values": 6,
                                 "bounded_scores": 1, "constrained": False, "outside_mass": [],
                                 "fallback": {M1: False, M2: True}}
    # no generation: answer/parsed are null; a NaN probability is null, so the document stays valid JSON
    assert t2["answer"] is None and t2["parsed"] is None and t2["probabilities"][M1]["anger"] is None


def test_jsonl_is_one_object_per_text():
    lines = format_jsonl(records(), LS, [M1, M2]).split("\n")
    assert [json.loads(l)["id"] for l in lines] == ["t1", "t2"]
    assert json.loads(lines[1])["text"] == "line one\nline two"  # newline escaped inside its line


def test_csv_is_one_row_per_text_and_method_with_a_column_per_label():
    rows = list(csv.DictReader(io.StringIO(format_csv(records(), LS, [M1, M2]))))
    assert [(r["id"], r["method"]) for r in rows] == [("t1", M1), ("t1", M2), ("t2", M1), ("t2", M2)]
    assert list(rows[0]) == ["id", "text", "method", "answer", "fallback", "joy", "anger"]
    assert float(rows[0]["joy"]) == 0.75 and float(rows[1]["anger"]) == 0.25
    assert rows[1]["fallback"] == "1" and rows[0]["fallback"] == "0" and rows[0]["answer"] == "joy"
    assert rows[2]["anger"] == "" and rows[3]["text"] == "line one\nline two"


def test_csv_label_named_like_a_fixed_column_gets_a_prefix():
    ls = LabelSet(("text", "joy"))
    rec = ExampleRecord("t1", "hello")
    rec.methods = {M1: [0.25, 0.5]}
    rows = list(csv.DictReader(io.StringIO(format_csv([rec], ls, [M1]))))
    assert rows[0]["text"] == "hello" and float(rows[0]["p:text"]) == 0.25


def test_format_output_rejects_unknown_format():
    with pytest.raises(Exception, match="unknown output format 'xml'; use one of table, json, jsonl, csv"):
        format_output("xml", records(), LS, [M1])


@pytest.fixture
def tiny(monkeypatch, tiny_backend):
    monkeypatch.setattr(api, "load_backend", lambda *a, **k: tiny_backend)
    return tiny_backend


def test_classify_format_json_parses_and_matches_the_table_numbers(tiny, capsys, monkeypatch):
    real = api.classify

    def noisy(*a, **k):  # anything printed while classifying must not reach stdout in a machine format
        print("loading something...")
        return real(*a, **k)

    monkeypatch.setattr(api, "classify", noisy)
    argv = ["classify", "I won!", "They lost my bag.", "--labels", "joy,anger", "--model", "tiny",
            "--max-new-tokens", "8"]
    assert main(argv + ["--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert "loading something..." in err
    assert [t["id"] for t in doc["texts"]] == ["t1", "t2"] and doc["labels"] == ["joy", "anger"]
    assert doc["methods"] == [s.name for s in selected_methods((GENERATION_GROUP,), LS)]
    assert doc["model"]["name"] == "tiny-random-llama" and doc["config"]["model"] == "tiny"
    for t in doc["texts"]:
        assert set(t["probabilities"]) == set(doc["methods"])
        assert all(0 <= p <= 1 for m in t["probabilities"].values() for p in m.values())
        assert isinstance(t["answer"], str) and "well_formed" in t["diagnostics"]
    # the same numbers as the table (3 decimals)
    assert main(argv) == 0
    table = capsys.readouterr().out
    first = doc["methods"][0]
    p = doc["texts"][0]["probabilities"][first]
    assert f"{first}" in table and f"{p['joy']:.3f}" in table


def test_classify_csv_parses(tiny, capsys):
    assert main(["classify", "a", "b", "c", "--labels", "joy,anger", "--model", "tiny", "--max-new-tokens", "8",
                 "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    methods = [s.name for s in selected_methods((GENERATION_GROUP,), LS)]
    assert [(r["text"], r["method"]) for r in rows] == [(t, m) for t in "abc" for m in methods]
    assert all(0 <= float(r[l]) <= 1 for r in rows for l in ("joy", "anger"))


def test_classify_result_jsonl_of_real_records(tiny):
    res = api.classify(["a", "b"], LS, model="tiny", backend=tiny)
    objs = [json.loads(l) for l in res.format("jsonl").splitlines()]
    assert [o["text"] for o in objs] == ["a", "b"]
    assert objs[0]["probabilities"] == res.to_dict()["texts"][0]["probabilities"]
    assert np.allclose([objs[1]["probabilities"][res.methods[0]][l] for l in LS.labels], res.probs(res.methods[0])[1])


def test_run_json_is_one_summary_object(tiny, capsys, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": f"text {i}", "labels": ["a"]}) + "\n" for i in range(3)))
    out_dir = tmp_path / "run"
    argv = ["run", "--data", str(data), "--labels", "a,b", "--out", str(out_dir), "--shots", "0", "--model", "tiny",
            "--max-new-tokens", "8", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run_dir"] == str(out_dir) and doc["n_examples"] == 3 and doc["n_new"] == 3 and doc["n_resumed"] == 0
    assert doc["methods"] == [s.name for s in selected_methods((GENERATION_GROUP,), LabelSet(("a", "b")))]
    assert doc["summary"]["n_examples"] == 3 and "fallbacks" in doc["summary"] and doc["labels"] == ["a", "b"]
    assert (out_dir / "records.jsonl").is_file()
    assert main(argv) == 0  # resumed: still one object, now all resumed
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_new"] == 0 and doc["n_resumed"] == 3


def test_evaluate_json_has_scores_with_intervals_notes_and_paths(tmp_path, capsys):
    run = make_run(tmp_path / "a")
    assert main(["evaluate", str(run), "--n-boot", "30", "--json", "--out", str(tmp_path / "ev")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_boot"] == 30 and doc["out_dir"] == str(tmp_path / "ev")
    nll = [s for s in doc["scores"] if s["metric"] == "nll" and s["method"] == next(iter(METHODS))]
    assert len(nll) == 1 and nll[0]["low"] <= nll[0]["value"] <= nll[0]["high"]
    assert isinstance(doc["notes"], list) and doc["datasets"][0]["name"] == "toy"
    from pathlib import Path

    assert all(Path(p).is_file() for p in doc["paths"].values()) and "markdown" in doc["paths"]


def test_help_documents_exit_codes_and_formats(capsys):
    text = build_parser().format_help()
    assert "exit codes:" in text and "130" in text and "bad input" in text and "--format json" in text
    with pytest.raises(SystemExit):
        main(["classify", "--help"])
    out = capsys.readouterr().out
    assert "--format {" + ",".join(OUTPUT_FORMATS) + "}" in out


def test_machine_output_error_is_still_one_line_on_stderr(capsys):
    assert main(["classify", "hi", "--labels", "joy,Joy", "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().count("\n") == 0 and "duplicate label" in err


def test_probabilities_are_float64_rows_in_label_order():
    doc = json.loads(format_json(records(), LS, [M1]))
    assert np.allclose([doc["texts"][0]["probabilities"][M1][l] for l in LS.labels], records()[0].methods[M1])
