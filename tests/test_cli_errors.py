"""Bad input: one line naming the problem and the fix, exit code 2, no run directory left behind."""

import json

import pytest

from labeldist.backends import models
from labeldist.cli.main import main


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, f"expected one line, got: {err!r}"
    return err


@pytest.mark.parametrize("argv, pattern", [
    (["classify", "hi", "--labels", "a,b", "--model", "gpt-17"], "unknown model 'gpt-17'; use one of qwen2.5-0.5b"),
    (["classify", "hi", "--labels", ""], "empty label set; pass at least one label"),
    (["classify", "hi", "--labels", "joy,Joy"], "duplicate label 'Joy'"),
    (["classify", "   ", "--labels", "joy,anger"], "empty text; remove it or fill in its text"),
    (["classify", "hi", "--labels", "joy,none"], "'none' is reserved"),
])
def test_bad_classify_input(capsys, argv, pattern):
    assert main(argv) == 2
    assert pattern in _err(capsys)


def test_missing_model_package(capsys, monkeypatch):
    spec = models.ModelSpec(name="ghost", title="x", packages=("ghost-model==1.0",), sha256="0" * 64,
                            gguf_name="g.gguf", gguf_module="ghost_model_pkg_not_installed")
    monkeypatch.setitem(models.MODELS, "ghost", spec)
    assert main(["classify", "hi", "--labels", "a,b", "--model", "ghost"]) == 2
    assert "model 'ghost' is not installed" in _err(capsys)


def test_unreadable_data_file_leaves_no_run_dir(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--data", str(tmp_path / "missing.jsonl"), "--labels", "a,b", "--out", str(out)]) == 2
    assert "does not exist" in _err(capsys)
    assert not out.exists()


def test_malformed_data_file_leaves_no_run_dir(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "1", "text": "ok", "labels": ["a"]}\n{"id": "2", "text": \n')
    out = tmp_path / "run"
    assert main(["run", "--data", str(data), "--labels", "a,b", "--out", str(out), "--shots", "0"]) == 2
    err = _err(capsys)
    assert "d.jsonl" in err and "line 2" in err
    assert not out.exists()


def test_unknown_label_in_data(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "1", "text": "ok", "labels": ["zzz"]}) + "\n")
    assert main(["run", "--data", str(data), "--labels", "a,b", "--out", str(tmp_path / "r"), "--shots", "0"]) == 2
    assert "zzz" in _err(capsys)


@pytest.mark.slow
def test_prompt_over_context_leaves_no_run_dir(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    rows = [{"id": "ok", "text": "short", "labels": ["a"]}, {"id": "huge", "text": "word " * 9000, "labels": ["b"]}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    code = main(["run", "--data", str(data), "--labels", "a,b", "--out", str(out), "--shots", "0",
                 "--model", "smollm2-135m", "--dtype", "fp32", "--quiet"])
    assert code == 2
    err = _err(capsys)
    assert "example 'huge'" in err and "exceeds the model's context of 8192" in err and "--shots" in err
    assert not out.exists()
